/*
 * A length decoder for x86-64 machine code. It also classifies the
 * instructions that the BoringSSL offset finder looks for: RIP-relative
 * lea, mov of an immediate into a register, register zeroing, direct calls
 * and jumps, and the instructions that end a function or pad between
 * functions (ret, int3, ud2).
 *
 * Every other instruction gets only its length, which is what a linear
 * sweep needs to stay on instruction boundaries. The tables cover the
 * general-purpose, x87, MMX, SSE, VEX (AVX, AVX2, BMI) and EVEX (AVX-512)
 * encodings of 64-bit mode. Opcodes that do not exist in 64-bit mode, XOP
 * and the EVEX maps added by APX are reported as undecodable.
 */
#include <errno.h>
#include <string.h>

#include "boringssl_internal.h"

#define X86_MAX_LENGTH 15

/* Operand forms of one opcode: whether a ModRM byte follows, and which
 * immediate or displacement comes after it. */
enum operand_form {
	FORM_NONE = 0,
	FORM_INVALID,  /* does not exist in 64-bit mode */
	FORM_MODRM,
	FORM_MODRM_IMM8,
	FORM_MODRM_IMMZ,  /* 16 or 32 bits by operand size */
	FORM_GROUP3_IMM8, /* F6: an immediate only for /0 and /1 (test) */
	FORM_GROUP3_IMMZ, /* F7: the same with a 16- or 32-bit immediate */
	FORM_IMM8,
	FORM_IMM16,
	FORM_IMMZ,
	FORM_IMMV,    /* B8+r: 16, 32 or 64 bits by operand size */
	FORM_IMM16_IMM8, /* enter */
	FORM_MOFFS,   /* 64 or 32 bits by address size */
	FORM_REL8,
	FORM_REL32,
	FORM_PREFIX,  /* handled before the table is consulted */
	FORM_ESCAPE,  /* 0F, VEX and EVEX escapes, handled separately */
};

static const unsigned char one_byte_forms[256] = {
	[0x00 ... 0x03] = FORM_MODRM, [0x04] = FORM_IMM8, [0x05] = FORM_IMMZ,
	[0x06 ... 0x07] = FORM_INVALID,
	[0x08 ... 0x0b] = FORM_MODRM, [0x0c] = FORM_IMM8, [0x0d] = FORM_IMMZ,
	[0x0e] = FORM_INVALID, [0x0f] = FORM_ESCAPE,
	[0x10 ... 0x13] = FORM_MODRM, [0x14] = FORM_IMM8, [0x15] = FORM_IMMZ,
	[0x16 ... 0x17] = FORM_INVALID,
	[0x18 ... 0x1b] = FORM_MODRM, [0x1c] = FORM_IMM8, [0x1d] = FORM_IMMZ,
	[0x1e ... 0x1f] = FORM_INVALID,
	[0x20 ... 0x23] = FORM_MODRM, [0x24] = FORM_IMM8, [0x25] = FORM_IMMZ,
	[0x26] = FORM_PREFIX, [0x27] = FORM_INVALID,
	[0x28 ... 0x2b] = FORM_MODRM, [0x2c] = FORM_IMM8, [0x2d] = FORM_IMMZ,
	[0x2e] = FORM_PREFIX, [0x2f] = FORM_INVALID,
	[0x30 ... 0x33] = FORM_MODRM, [0x34] = FORM_IMM8, [0x35] = FORM_IMMZ,
	[0x36] = FORM_PREFIX, [0x37] = FORM_INVALID,
	[0x38 ... 0x3b] = FORM_MODRM, [0x3c] = FORM_IMM8, [0x3d] = FORM_IMMZ,
	[0x3e] = FORM_PREFIX, [0x3f] = FORM_INVALID,
	[0x40 ... 0x4f] = FORM_PREFIX, /* REX */
	[0x50 ... 0x5f] = FORM_NONE,
	[0x60 ... 0x61] = FORM_INVALID, [0x62] = FORM_ESCAPE, [0x63] = FORM_MODRM,
	[0x64 ... 0x67] = FORM_PREFIX,
	[0x68] = FORM_IMMZ, [0x69] = FORM_MODRM_IMMZ, [0x6a] = FORM_IMM8,
	[0x6b] = FORM_MODRM_IMM8, [0x6c ... 0x6f] = FORM_NONE,
	[0x70 ... 0x7f] = FORM_REL8,
	[0x80] = FORM_MODRM_IMM8, [0x81] = FORM_MODRM_IMMZ, [0x82] = FORM_INVALID,
	[0x83] = FORM_MODRM_IMM8, [0x84 ... 0x8f] = FORM_MODRM,
	[0x90 ... 0x99] = FORM_NONE, [0x9a] = FORM_INVALID, [0x9b ... 0x9f] = FORM_NONE,
	[0xa0 ... 0xa3] = FORM_MOFFS, [0xa4 ... 0xa7] = FORM_NONE,
	[0xa8] = FORM_IMM8, [0xa9] = FORM_IMMZ, [0xaa ... 0xaf] = FORM_NONE,
	[0xb0 ... 0xb7] = FORM_IMM8, [0xb8 ... 0xbf] = FORM_IMMV,
	[0xc0 ... 0xc1] = FORM_MODRM_IMM8, [0xc2] = FORM_IMM16, [0xc3] = FORM_NONE,
	[0xc4 ... 0xc5] = FORM_ESCAPE, [0xc6] = FORM_MODRM_IMM8, [0xc7] = FORM_MODRM_IMMZ,
	[0xc8] = FORM_IMM16_IMM8, [0xc9] = FORM_NONE, [0xca] = FORM_IMM16,
	[0xcb ... 0xcc] = FORM_NONE, [0xcd] = FORM_IMM8, [0xce] = FORM_INVALID,
	[0xcf] = FORM_NONE,
	[0xd0 ... 0xd3] = FORM_MODRM, [0xd4 ... 0xd6] = FORM_INVALID, [0xd7] = FORM_NONE,
	[0xd8 ... 0xdf] = FORM_MODRM,
	[0xe0 ... 0xe3] = FORM_REL8, [0xe4 ... 0xe7] = FORM_IMM8,
	[0xe8 ... 0xe9] = FORM_REL32, [0xea] = FORM_INVALID, [0xeb] = FORM_REL8,
	[0xec ... 0xef] = FORM_NONE,
	[0xf0] = FORM_PREFIX, [0xf1] = FORM_NONE, [0xf2 ... 0xf3] = FORM_PREFIX,
	[0xf4 ... 0xf5] = FORM_NONE, [0xf6] = FORM_GROUP3_IMM8, [0xf7] = FORM_GROUP3_IMMZ,
	[0xf8 ... 0xfd] = FORM_NONE, [0xfe ... 0xff] = FORM_MODRM,
};

/* Opcodes after 0F. */
static const unsigned char two_byte_forms[256] = {
	[0x00 ... 0x03] = FORM_MODRM, [0x04] = FORM_INVALID, [0x05 ... 0x09] = FORM_NONE,
	[0x0a] = FORM_INVALID, [0x0b] = FORM_NONE, [0x0c] = FORM_INVALID,
	[0x0d] = FORM_MODRM, [0x0e] = FORM_NONE, [0x0f] = FORM_MODRM_IMM8, /* 3DNow! */
	[0x10 ... 0x23] = FORM_MODRM, [0x24 ... 0x27] = FORM_INVALID,
	[0x28 ... 0x2f] = FORM_MODRM, [0x30 ... 0x37] = FORM_NONE,
	[0x38] = FORM_ESCAPE, [0x39] = FORM_INVALID, [0x3a] = FORM_ESCAPE,
	[0x3b ... 0x3f] = FORM_INVALID,
	[0x40 ... 0x6f] = FORM_MODRM, [0x70 ... 0x73] = FORM_MODRM_IMM8,
	[0x74 ... 0x76] = FORM_MODRM, [0x77] = FORM_NONE, [0x78 ... 0x7f] = FORM_MODRM,
	[0x80 ... 0x8f] = FORM_REL32, [0x90 ... 0x9f] = FORM_MODRM,
	[0xa0 ... 0xa2] = FORM_NONE, [0xa3] = FORM_MODRM, [0xa4] = FORM_MODRM_IMM8,
	[0xa5] = FORM_MODRM, [0xa6 ... 0xa7] = FORM_INVALID, [0xa8 ... 0xaa] = FORM_NONE,
	[0xab] = FORM_MODRM, [0xac] = FORM_MODRM_IMM8, [0xad ... 0xb9] = FORM_MODRM,
	[0xba] = FORM_MODRM_IMM8, [0xbb ... 0xc1] = FORM_MODRM, [0xc2] = FORM_MODRM_IMM8,
	[0xc3] = FORM_MODRM, [0xc4 ... 0xc6] = FORM_MODRM_IMM8, [0xc7] = FORM_MODRM,
	[0xc8 ... 0xcf] = FORM_NONE, [0xd0 ... 0xff] = FORM_MODRM,
};

/* The decoding state of one instruction while its bytes are consumed. */
struct decoder {
	const uint8_t *code;
	size_t available;
	size_t position;
	bool operand_size_16;  /* 66 prefix */
	bool address_size_32;  /* 67 prefix */
	uint8_t rex;           /* 0 when absent */
	uint8_t modrm;
	bool has_modrm;
	size_t displacement_position; /* of a RIP-relative disp32, 0 if none */
};

static int take_byte(struct decoder *decoder, uint8_t *byte)
{
	if (decoder->position >= decoder->available || decoder->position >= X86_MAX_LENGTH)
		return -EINVAL;
	*byte = decoder->code[decoder->position++];
	return 0;
}

static int skip_bytes(struct decoder *decoder, size_t count)
{
	if (decoder->position + count > decoder->available ||
	    decoder->position + count > X86_MAX_LENGTH)
		return -EINVAL;
	decoder->position += count;
	return 0;
}

static uint32_t read_u32(const uint8_t *bytes)
{
	uint32_t value;

	memcpy(&value, bytes, sizeof(value));
	return value;
}

/* Consumes ModRM, SIB and displacement. 64-bit mode uses the same layout
 * with a 67 prefix, so only the register fields depend on REX. */
static int take_modrm(struct decoder *decoder)
{
	uint8_t mod, rm, sib;
	int err;

	err = take_byte(decoder, &decoder->modrm);
	if (err)
		return err;
	decoder->has_modrm = true;

	mod = decoder->modrm >> 6;
	rm = decoder->modrm & 7;
	if (mod == 3)
		return 0;

	if (rm == 4) {
		err = take_byte(decoder, &sib);
		if (err)
			return err;
		if (mod == 0 && (sib & 7) == 5)
			return skip_bytes(decoder, 4);
	} else if (mod == 0 && rm == 5) {
		decoder->displacement_position = decoder->position;
		return skip_bytes(decoder, 4);
	}

	if (mod == 1)
		return skip_bytes(decoder, 1);
	if (mod == 2)
		return skip_bytes(decoder, 4);
	return 0;
}

static uint8_t modrm_reg(const struct decoder *decoder)
{
	return ((decoder->modrm >> 3) & 7) | ((decoder->rex & 4) ? 8 : 0);
}

static uint8_t modrm_rm(const struct decoder *decoder)
{
	return (decoder->modrm & 7) | ((decoder->rex & 1) ? 8 : 0);
}

static size_t immz_bytes(const struct decoder *decoder)
{
	if (decoder->operand_size_16 && !(decoder->rex & 8))
		return 2;
	return 4;
}

/* Consumes what follows the opcode, as one_byte_forms or two_byte_forms
 * describe it. */
static int take_operands(struct decoder *decoder, enum operand_form form)
{
	int err;

	switch (form) {
	case FORM_NONE:
		return 0;
	case FORM_MODRM:
		return take_modrm(decoder);
	case FORM_MODRM_IMM8:
		err = take_modrm(decoder);
		return err ? err : skip_bytes(decoder, 1);
	case FORM_MODRM_IMMZ:
		err = take_modrm(decoder);
		return err ? err : skip_bytes(decoder, immz_bytes(decoder));
	case FORM_GROUP3_IMM8:
	case FORM_GROUP3_IMMZ:
		err = take_modrm(decoder);
		if (err || ((decoder->modrm >> 3) & 7) >= 2)
			return err;
		if (form == FORM_GROUP3_IMM8)
			return skip_bytes(decoder, 1);
		return skip_bytes(decoder, immz_bytes(decoder));
	case FORM_IMM8:
	case FORM_REL8:
		return skip_bytes(decoder, 1);
	case FORM_IMM16:
		return skip_bytes(decoder, 2);
	case FORM_IMMZ:
		return skip_bytes(decoder, immz_bytes(decoder));
	case FORM_IMMV:
		if (decoder->rex & 8)
			return skip_bytes(decoder, 8);
		return skip_bytes(decoder, immz_bytes(decoder));
	case FORM_IMM16_IMM8:
		return skip_bytes(decoder, 3);
	case FORM_MOFFS:
		return skip_bytes(decoder, decoder->address_size_32 ? 4 : 8);
	case FORM_REL32:
		return skip_bytes(decoder, 4);
	default:
		return -EINVAL;
	}
}

/* VEX and EVEX encode the 0F, 0F38 and 0F3A maps. An 8-bit immediate
 * follows every opcode of the 0F3A map and a few of the 0F map; EVEX maps
 * 5 and 6 (AVX512-FP16) have none. */
static bool vex_has_imm8(unsigned int map, uint8_t opcode)
{
	if (map == 3)
		return true;
	if (map != 1)
		return false;
	return (opcode >= 0x70 && opcode <= 0x73) || opcode == 0xc2 ||
	       (opcode >= 0xc4 && opcode <= 0xc6);
}

/* Consumes a VEX (C4, C5) or EVEX (62) instruction after its first byte. */
static int take_vex(struct decoder *decoder, uint8_t escape, struct x86_insn *insn)
{
	uint8_t payload[3], opcode;
	unsigned int map;
	int err;

	if (escape == 0xc5) {
		err = take_byte(decoder, &payload[0]);
		map = 1;
	} else if (escape == 0xc4) {
		err = take_byte(decoder, &payload[0]);
		if (!err)
			err = take_byte(decoder, &payload[1]);
		map = payload[0] & 0x1f;
	} else {
		err = take_byte(decoder, &payload[0]);
		if (!err)
			err = take_byte(decoder, &payload[1]);
		if (!err)
			err = take_byte(decoder, &payload[2]);
		map = payload[0] & 7;
	}
	if (err)
		return err;

	if (escape == 0x62 ? !(map == 1 || map == 2 || map == 3 || map == 5 || map == 6) :
			     !(map >= 1 && map <= 3))
		return -EINVAL;

	err = take_byte(decoder, &opcode);
	if (err)
		return err;

	/* vzeroupper and vzeroall are the only VEX instructions without ModRM. */
	if (escape != 0x62 && map == 1 && opcode == 0x77) {
		insn->kind = X86_OTHER;
		return 0;
	}

	err = take_modrm(decoder);
	if (err)
		return err;
	if (vex_has_imm8(map, opcode))
		err = skip_bytes(decoder, 1);
	insn->kind = X86_OTHER;
	return err;
}

/* Consumes an instruction that starts with 0F. */
static int take_two_byte(struct decoder *decoder, struct x86_insn *insn)
{
	enum operand_form form;
	uint8_t opcode;
	int err;

	err = take_byte(decoder, &opcode);
	if (err)
		return err;

	if (opcode == 0x38 || opcode == 0x3a) {
		err = skip_bytes(decoder, 1); /* the third opcode byte */
		if (!err)
			err = take_modrm(decoder);
		if (!err && opcode == 0x3a)
			err = skip_bytes(decoder, 1);
		insn->kind = X86_OTHER;
		return err;
	}

	form = two_byte_forms[opcode];
	if (form == FORM_INVALID)
		return -EINVAL;
	err = take_operands(decoder, form);
	if (err)
		return err;

	if (opcode >= 0x80 && opcode <= 0x8f) {
		insn->kind = X86_JCC;
		insn->target = insn->address + decoder->position +
			       (int64_t)(int32_t)read_u32(decoder->code + decoder->position - 4);
	} else if (opcode == 0x0b || opcode == 0xb9 || opcode == 0xff) {
		insn->kind = X86_UD2; /* ud2, ud1, ud0 */
	} else {
		insn->kind = X86_OTHER;
	}
	return 0;
}

static int64_t read_signed(const uint8_t *bytes, size_t size)
{
	if (size == 1)
		return (int8_t)bytes[0];
	if (size == 2)
		return (int16_t)(bytes[0] | (bytes[1] << 8));
	if (size == 4)
		return (int32_t)read_u32(bytes);
	return (int64_t)((uint64_t)read_u32(bytes) | ((uint64_t)read_u32(bytes + 4) << 32));
}

/* Gives meaning to the one-byte opcodes the finder relies on. */
static void classify_one_byte(const struct decoder *decoder, uint8_t opcode, struct x86_insn *insn)
{
	const uint8_t *end = decoder->code + decoder->position;
	uint8_t group = (decoder->modrm >> 3) & 7;
	bool register_form = decoder->has_modrm && (decoder->modrm >> 6) == 3;
	bool wide = decoder->rex & 8;

	insn->kind = X86_OTHER;

	if (opcode == 0xe8 || opcode == 0xe9) {
		insn->kind = opcode == 0xe8 ? X86_CALL : X86_JMP;
		insn->target = insn->address + insn->length + read_signed(end - 4, 4);
	} else if (opcode == 0xeb) {
		insn->kind = X86_JMP;
		insn->target = insn->address + insn->length + read_signed(end - 1, 1);
	} else if ((opcode >= 0x70 && opcode <= 0x7f) || (opcode >= 0xe0 && opcode <= 0xe3)) {
		insn->kind = X86_JCC;
		insn->target = insn->address + insn->length + read_signed(end - 1, 1);
	} else if (opcode == 0xc3 || opcode == 0xc2 || opcode == 0xcb || opcode == 0xca ||
		   opcode == 0xcf) {
		insn->kind = X86_RET;
	} else if (opcode == 0xcc) {
		insn->kind = X86_INT3;
	} else if (opcode == 0xff && (group == 2 || group == 3)) {
		insn->kind = X86_CALL_INDIRECT;
	} else if (opcode == 0xff && (group == 4 || group == 5)) {
		insn->kind = X86_JMP_INDIRECT;
	} else if (opcode == 0x8d && wide && decoder->displacement_position) {
		insn->kind = X86_LEA_RIP;
		insn->reg = modrm_reg(decoder);
		insn->operand_bytes = 8;
		insn->target = insn->address + insn->length +
			       read_signed(decoder->code + decoder->displacement_position, 4);
	} else if (opcode >= 0xb8 && opcode <= 0xbf && !decoder->operand_size_16) {
		insn->kind = X86_MOV_IMM;
		insn->reg = (opcode & 7) | ((decoder->rex & 1) ? 8 : 0);
		insn->operand_bytes = wide ? 8 : 4;
		insn->imm = read_signed(end - insn->operand_bytes, insn->operand_bytes);
	} else if (opcode == 0xc7 && register_form && group == 0 && !decoder->operand_size_16) {
		insn->kind = X86_MOV_IMM;
		insn->reg = modrm_rm(decoder);
		insn->operand_bytes = wide ? 8 : 4;
		insn->imm = read_signed(end - 4, 4);
	} else if ((opcode == 0x31 || opcode == 0x33) && register_form &&
		   modrm_reg(decoder) == modrm_rm(decoder) && !decoder->operand_size_16) {
		insn->kind = X86_ZERO_REG;
		insn->reg = modrm_rm(decoder);
		insn->operand_bytes = wide ? 8 : 4;
	} else if (opcode == 0x85 && register_form && modrm_reg(decoder) == modrm_rm(decoder) &&
		   !decoder->operand_size_16) {
		insn->kind = X86_TEST_SELF;
		insn->reg = modrm_rm(decoder);
		insn->operand_bytes = wide ? 8 : 4;
	}
}

static bool is_legacy_prefix(uint8_t byte)
{
	switch (byte) {
	case 0x26: case 0x2e: case 0x36: case 0x3e: case 0x64: case 0x65:
	case 0x66: case 0x67: case 0xf0: case 0xf2: case 0xf3:
		return true;
	default:
		return false;
	}
}

int x86_decode(const uint8_t *code, size_t available, uint64_t address, struct x86_insn *insn)
{
	struct decoder decoder = { .code = code, .available = available };
	enum operand_form form;
	uint8_t byte;
	int err;

	memset(insn, 0, sizeof(*insn));
	insn->address = address;

	/* Legacy prefixes, then at most one REX directly before the opcode. A
	 * REX followed by a legacy prefix is ignored by the processor. */
	for (;;) {
		err = take_byte(&decoder, &byte);
		if (err)
			return err;
		if (is_legacy_prefix(byte)) {
			decoder.operand_size_16 |= byte == 0x66;
			decoder.address_size_32 |= byte == 0x67;
			decoder.rex = 0;
			continue;
		}
		if ((byte & 0xf0) == 0x40) {
			decoder.rex = byte;
			continue;
		}
		break;
	}

	if (byte == 0x0f) {
		err = take_two_byte(&decoder, insn);
	} else if (byte == 0xc4 || byte == 0xc5 || byte == 0x62) {
		err = take_vex(&decoder, byte, insn);
	} else if (byte == 0x8f && decoder.position < decoder.available &&
		   ((code[decoder.position] >> 3) & 7) != 0) {
		err = -EINVAL; /* AMD XOP, unused by the compilers the finder targets */
	} else {
		form = one_byte_forms[byte];
		if (form == FORM_INVALID)
			return -EINVAL;
		err = take_operands(&decoder, form);
		if (!err) {
			insn->length = decoder.position;
			classify_one_byte(&decoder, byte, insn);
		}
	}
	if (err)
		return err;

	insn->length = decoder.position;
	return 0;
}
