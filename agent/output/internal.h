/*
 * Helpers shared by the files of the output stage that build an event.
 */
#ifndef PLAINSIGHT_OUTPUT_INTERNAL_H
#define PLAINSIGHT_OUTPUT_INTERNAL_H

#include <cjson/cJSON.h>

#include "output.h"

/* Adds a string member, with invalid UTF-8 replaced by U+FFFD. */
void event_add_text(cJSON *object, const char *name, const char *text);

/* Returns the named child object of parent, created if missing. */
cJSON *event_object_at(cJSON *parent, const char *name);

/* Adds plainsight.severity and plainsight.pii, then redacts the values the
 * event prints. Runs last, over the finished event. */
void event_add_findings(cJSON *event, const struct event_annotations *annotations);

#endif
