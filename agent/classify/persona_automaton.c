/*
 * Aho-Corasick automaton over the first bytes of each persona pattern,
 * with ASCII letters folded to lowercase. A pattern's first PERSONA_PREFIX_BYTES
 * are enough to make a hit rare, so only they are in the automaton. The
 * caller compares the rest at each candidate, and the case for patterns
 * that are not caseless. Most patterns are digests of 32 to 172
 * characters, so this keeps the automaton small.
 *
 * States are numbered breadth first. The states near the root and those
 * with several edges have a dense row with a transition for every byte
 * class, filled through the failure links at build time. The other states
 * keep their one edge in the node and fall back to their failure link. A
 * byte that occurs in no prefix sends the scan straight back to the root.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "persona_internal.h"

/* States up to this depth, and states with two or more edges, get a row.
 * On synthetic tracker traffic (tools/bench/persona_scan.c) this scans
 * about as fast as rows for all states, with a fifth of the memory. */
#define DENSE_MAX_DEPTH 2
#define NO_STATE UINT32_MAX
#define NO_REPORT UINT32_MAX
#define ROOT 0

enum node_layout {
	NODE_DENSE, /* a row in rows */
	NODE_ONE,   /* one edge, kept in the node */
	NODE_LEAF,  /* no edge */
};

struct automaton_node {
	uint32_t next;   /* NODE_DENSE: offset of the row in rows; NODE_ONE: the edge's target */
	uint32_t fail;
	uint32_t report; /* the first report to give in this state, or NO_REPORT */
	uint8_t layout;
	uint8_t class;   /* NODE_ONE: the edge's class */
};

/* The patterns whose prefix ends in one state. */
struct automaton_report {
	uint32_t first_output; /* index into outputs */
	uint32_t output_count;
	uint32_t depth;        /* bytes of the prefix */
	uint32_t next;         /* report of the longest proper suffix that has one */
};

struct persona_automaton {
	uint8_t classes[256]; /* byte to class; 0 for bytes in no prefix */
	uint32_t class_count; /* including class 0 */
	struct automaton_node *nodes;
	size_t node_count;
	uint32_t *rows;
	size_t row_entries;
	struct automaton_report *reports;
	size_t report_count;
	uint32_t *outputs; /* pattern indices, ascending within a report */
	size_t output_count;
};

/* ---- the trie, while building ---- */

struct trie_edge {
	uint32_t target;
	uint32_t next; /* next edge of the same node, or NO_STATE */
	uint8_t class;
};

struct trie_node {
	uint32_t first_edge;
	uint32_t fail;
	uint32_t depth;
	uint32_t edge_count;
	uint32_t output_count;
	uint32_t order; /* breadth-first number */
};

struct trie {
	struct trie_node *nodes;
	size_t node_count;
	size_t node_capacity;
	struct trie_edge *edges;
	size_t edge_count;
	size_t edge_capacity;
	/* The state where each pattern's prefix ends, by pattern index, or
	 * NO_STATE for whole_field patterns. */
	uint32_t *end_states;
};

static int grow(void **items, size_t *capacity, size_t count, size_t item_bytes)
{
	size_t grown = *capacity ? *capacity * 2 : 1024;
	void *moved;

	if (count < *capacity)
		return 0;
	moved = realloc(*items, grown * item_bytes);
	if (!moved)
		return -ENOMEM;
	*items = moved;
	*capacity = grown;
	return 0;
}

static uint32_t trie_child(const struct trie *trie, uint32_t node, uint8_t class)
{
	uint32_t edge;

	for (edge = trie->nodes[node].first_edge; edge != NO_STATE; edge = trie->edges[edge].next) {
		if (trie->edges[edge].class == class)
			return trie->edges[edge].target;
	}
	return NO_STATE;
}

static int trie_add_node(struct trie *trie, uint32_t depth)
{
	struct trie_node *node;

	if (grow((void **)&trie->nodes, &trie->node_capacity, trie->node_count, sizeof(*trie->nodes)) < 0)
		return -ENOMEM;
	node = &trie->nodes[trie->node_count++];
	memset(node, 0, sizeof(*node));
	node->first_edge = NO_STATE;
	node->depth = depth;
	return 0;
}

/* Returns the child of node by class, added if missing, or NO_STATE when
 * out of memory. */
static uint32_t trie_child_add(struct trie *trie, uint32_t node, uint8_t class)
{
	uint32_t child = trie_child(trie, node, class);
	struct trie_edge *edge;

	if (child != NO_STATE)
		return child;
	if (grow((void **)&trie->edges, &trie->edge_capacity, trie->edge_count, sizeof(*trie->edges)) < 0 ||
	    trie_add_node(trie, trie->nodes[node].depth + 1) < 0)
		return NO_STATE;

	child = (uint32_t)(trie->node_count - 1);
	edge = &trie->edges[trie->edge_count];
	edge->target = child;
	edge->class = class;
	edge->next = trie->nodes[node].first_edge;
	trie->nodes[node].first_edge = (uint32_t)trie->edge_count++;
	trie->nodes[node].edge_count++;
	return child;
}

static void trie_free(struct trie *trie)
{
	free(trie->nodes);
	free(trie->edges);
	free(trie->end_states);
	memset(trie, 0, sizeof(*trie));
}

/* Numbers each byte that occurs, folded, in a prefix: 1, 2, ... */
static void assign_classes(struct persona_automaton *automaton, const struct persona_pattern *patterns,
			   size_t count)
{
	bool used[256] = { false };
	size_t i;
	size_t j;
	int byte;

	for (i = 0; i < count; i++) {
		for (j = 0; j < patterns[i].length && j < PERSONA_PREFIX_BYTES && !patterns[i].whole_field;
		     j++)
			used[tolower((unsigned char)patterns[i].text[j])] = true;
	}
	automaton->class_count = 1;
	for (byte = 0; byte < 256; byte++) {
		if (used[byte] && tolower(byte) == byte)
			automaton->classes[byte] = (uint8_t)automaton->class_count++;
	}
	for (byte = 0; byte < 256; byte++)
		automaton->classes[byte] = automaton->classes[tolower(byte)];
}

static int trie_build(struct trie *trie, const struct persona_automaton *automaton,
		      const struct persona_pattern *patterns, size_t count)
{
	size_t i;
	size_t j;

	trie->end_states = malloc((count ? count : 1) * sizeof(*trie->end_states));
	if (!trie->end_states || trie_add_node(trie, 0) < 0)
		return -ENOMEM;

	for (i = 0; i < count; i++) {
		uint32_t state = ROOT;

		trie->end_states[i] = NO_STATE;
		if (patterns[i].whole_field)
			continue;
		for (j = 0; j < patterns[i].length && j < PERSONA_PREFIX_BYTES; j++) {
			state = trie_child_add(trie, state, automaton->classes[(uint8_t)patterns[i].text[j]]);
			if (state == NO_STATE)
				return -ENOMEM;
		}
		trie->end_states[i] = state;
		trie->nodes[state].output_count++;
	}
	return 0;
}

/* Fills order with the states breadth first and sets their failure links:
 * the longest proper suffix of a state's prefix that is also a state. */
static void trie_link(struct trie *trie, uint32_t *order)
{
	size_t head = 0;
	size_t tail = 0;

	order[tail++] = ROOT;
	trie->nodes[ROOT].fail = ROOT;
	while (head < tail) {
		uint32_t node = order[head++];
		uint32_t edge;

		trie->nodes[node].order = (uint32_t)(head - 1);
		for (edge = trie->nodes[node].first_edge; edge != NO_STATE; edge = trie->edges[edge].next) {
			uint32_t child = trie->edges[edge].target;
			uint8_t class = trie->edges[edge].class;
			uint32_t fail = trie->nodes[node].fail;
			uint32_t suffix = NO_STATE;

			while (node != ROOT) {
				suffix = trie_child(trie, fail, class);
				if (suffix != NO_STATE || fail == ROOT)
					break;
				fail = trie->nodes[fail].fail;
			}
			trie->nodes[child].fail = suffix != NO_STATE ? suffix : ROOT;
			order[tail++] = child;
		}
	}
}

/* ---- the compiled automaton ---- */

/* Returns the state that class leads to from state, following failure
 * links. */
static inline __attribute__((always_inline)) uint32_t next_state(const struct persona_automaton *automaton,
								  uint32_t state, uint8_t class)
{
	for (;;) {
		const struct automaton_node *node = &automaton->nodes[state];

		if (node->layout == NODE_DENSE)
			return automaton->rows[node->next + class];
		if (node->layout == NODE_ONE && node->class == class)
			return node->next;
		state = node->fail;
	}
}

/* The root and the states near it, where a scan spends most of its time,
 * and states with several edges get a row. */
static bool is_dense(const struct trie_node *node)
{
	return node->depth <= DENSE_MAX_DEPTH || node->edge_count >= 2;
}

static int allocate_tables(struct persona_automaton *automaton, const struct trie *trie, size_t pattern_count)
{
	size_t dense_count = 0;
	size_t i;

	for (i = 0; i < trie->node_count; i++) {
		if (is_dense(&trie->nodes[i]))
			dense_count++;
		if (trie->nodes[i].output_count)
			automaton->report_count++;
	}
	automaton->node_count = trie->node_count;
	automaton->row_entries = dense_count * automaton->class_count;

	automaton->nodes = calloc(automaton->node_count, sizeof(*automaton->nodes));
	automaton->rows = calloc(automaton->row_entries, sizeof(*automaton->rows));
	automaton->reports = calloc(automaton->report_count + 1, sizeof(*automaton->reports));
	automaton->outputs = calloc(pattern_count + 1, sizeof(*automaton->outputs));
	if (!automaton->nodes || !automaton->rows || !automaton->reports || !automaton->outputs)
		return -ENOMEM;
	return 0;
}

/* Fills the transitions of the state numbered state from the trie node. A
 * dense row's missing classes follow the failure link, whose state is
 * shallower and so already filled. */
static void compile_edges(struct persona_automaton *automaton, const struct trie *trie, uint32_t trie_node,
			  size_t *row_used)
{
	const struct trie_node *from = &trie->nodes[trie_node];
	struct automaton_node *node = &automaton->nodes[from->order];
	uint32_t class;

	node->fail = trie->nodes[from->fail].order;
	if (is_dense(from)) {
		node->layout = NODE_DENSE;
		node->next = (uint32_t)*row_used;
		*row_used += automaton->class_count;
		for (class = 1; class < automaton->class_count; class++) {
			uint32_t child = trie_child(trie, trie_node, (uint8_t)class);

			if (child != NO_STATE)
				automaton->rows[node->next + class] = trie->nodes[child].order;
			else if (trie_node == ROOT)
				automaton->rows[node->next + class] = ROOT;
			else
				automaton->rows[node->next + class] =
					next_state(automaton, node->fail, (uint8_t) class);
		}
		return;
	}

	if (from->edge_count == 0) {
		node->layout = NODE_LEAF;
		return;
	}
	node->layout = NODE_ONE;
	node->class = trie->edges[from->first_edge].class;
	node->next = trie->nodes[trie->edges[from->first_edge].target].order;
}

/* Lays out each state's pattern indices, in pattern order, and chains its
 * report to the failure link's, so that a scan gives every prefix that
 * ends at a byte. */
static void compile_reports(struct persona_automaton *automaton, const struct trie *trie,
			    const uint32_t *order, size_t pattern_count)
{
	size_t output_used = 0;
	size_t used = 0;
	size_t i;

	for (i = 0; i < trie->node_count; i++) {
		const struct trie_node *from = &trie->nodes[order[i]];
		struct automaton_node *node = &automaton->nodes[i];
		struct automaton_report *report = &automaton->reports[used];
		uint32_t fail_report = i == ROOT ? NO_REPORT : automaton->nodes[node->fail].report;

		node->report = fail_report;
		if (from->output_count == 0)
			continue;
		node->report = (uint32_t)used++;
		report->first_output = (uint32_t)output_used;
		report->depth = from->depth;
		report->next = fail_report;
		output_used += from->output_count;
	}

	for (i = 0; i < pattern_count; i++) {
		struct automaton_report *report;

		if (trie->end_states[i] == NO_STATE)
			continue;
		report = &automaton->reports[automaton->nodes[trie->nodes[trie->end_states[i]].order].report];
		automaton->outputs[report->first_output + report->output_count++] = (uint32_t)i;
	}
	automaton->output_count = output_used;
}

int persona_automaton_build(struct persona_automaton **automaton, const struct persona_pattern *patterns,
			    size_t count)
{
	struct persona_automaton *built = calloc(1, sizeof(*built));
	struct trie trie = { 0 };
	uint32_t *order = NULL;
	size_t row_used = 0;
	size_t i;
	int err = -ENOMEM;

	*automaton = NULL;
	if (!built || count >= NO_STATE)
		goto cleanup;
	assign_classes(built, patterns, count);
	err = trie_build(&trie, built, patterns, count);
	if (err < 0)
		goto cleanup;
	order = malloc(trie.node_count * sizeof(*order));
	err = order ? allocate_tables(built, &trie, count) : -ENOMEM;
	if (err < 0)
		goto cleanup;

	trie_link(&trie, order);
	for (i = 0; i < trie.node_count; i++)
		compile_edges(built, &trie, order[i], &row_used);
	compile_reports(built, &trie, order, count);

	*automaton = built;
	built = NULL;
	err = 0;

cleanup:
	persona_automaton_free(built);
	trie_free(&trie);
	free(order);
	return err;
}

int persona_automaton_scan(const struct persona_automaton *automaton, const uint8_t *text, size_t length,
			   persona_candidate_fn candidate, void *context)
{
	uint32_t state = ROOT;
	size_t i;

	for (i = 0; i < length; i++) {
		uint8_t class = automaton->classes[text[i]];
		uint32_t report_index;

		if (class == 0) {
			state = ROOT;
			continue;
		}
		state = next_state(automaton, state, class);

		for (report_index = automaton->nodes[state].report; report_index != NO_REPORT;) {
			const struct automaton_report *report = &automaton->reports[report_index];
			uint32_t k;

			for (k = 0; k < report->output_count; k++) {
				int err = candidate(context, automaton->outputs[report->first_output + k],
						    i + 1 - report->depth);

				if (err < 0)
					return err;
			}
			report_index = report->next;
		}
	}
	return 0;
}

size_t persona_automaton_bytes(const struct persona_automaton *automaton)
{
	if (!automaton)
		return 0;
	return sizeof(*automaton) + automaton->node_count * sizeof(*automaton->nodes) +
	       automaton->row_entries * sizeof(*automaton->rows) +
	       automaton->report_count * sizeof(*automaton->reports) +
	       automaton->output_count * sizeof(*automaton->outputs);
}

void persona_automaton_free(struct persona_automaton *automaton)
{
	if (!automaton)
		return;
	free(automaton->nodes);
	free(automaton->rows);
	free(automaton->reports);
	free(automaton->outputs);
	free(automaton);
}
