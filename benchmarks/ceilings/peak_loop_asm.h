// The unrolled body of the peak throughput loops (see ceilings.h), written
// once for every ISA file.
//
// A peak loop zeroes its accumulators and two source registers, then issues
// one instruction into every accumulator twice per iteration: with enough
// independent accumulators the instruction's latency never limits the rate.
// These macros spell the body out register by register; each ISA file names
// only its instruction and registers. They expand to string literals, so the
// loops stay single asm statements with nothing for the compiler to schedule.
#pragma once

// X(r, ...) for each accumulator register number r.
#define LOCI_PEAK_ACC12(X, ...)                                                                                 \
  X(0, __VA_ARGS__) X(1, __VA_ARGS__) X(2, __VA_ARGS__) X(3, __VA_ARGS__) X(4, __VA_ARGS__) X(5, __VA_ARGS__) \
  X(6, __VA_ARGS__) X(7, __VA_ARGS__) X(8, __VA_ARGS__) X(9, __VA_ARGS__) X(10, __VA_ARGS__) X(11, __VA_ARGS__)
#define LOCI_PEAK_ACC16(X, ...) \
  LOCI_PEAK_ACC12(X, __VA_ARGS__) X(12, __VA_ARGS__) X(13, __VA_ARGS__) X(14, __VA_ARGS__) X(15, __VA_ARGS__)

#if defined(__x86_64__)
// `zero %reg r, %reg r, %reg r` for register bank `reg` ("ymm", "zmm").
#define LOCI_PEAK_X86_ZERO(r, zero, reg) zero " %%" reg #r ", %%" reg #r ", %%" reg #r "\n\t"
// `insn %reg s1, %reg s0, %reg r`: accumulator r += f(s0, s1).
#define LOCI_PEAK_X86_STEP(r, insn, reg, s0, s1) insn " %%" reg #s1 ", %%" reg #s0 ", %%" reg #r "\n\t"
#define LOCI_PEAK_X86_CLOBBER(r, ...) "xmm" #r,

// Runs `n` iterations (n > 0) of `insn` into the ACC accumulators, with
// sources s0 and s1 (register numbers above the accumulators).
#define LOCI_PEAK_LOOP_X86(n, ACC, reg, zero, insn, s0, s1) \
  __asm__ volatile(                                          \
      LOCI_PEAK_X86_ZERO(s0, zero, reg)                      \
      LOCI_PEAK_X86_ZERO(s1, zero, reg)                      \
      ACC(LOCI_PEAK_X86_ZERO, zero, reg)                     \
      "1:\n\t"                                               \
      ACC(LOCI_PEAK_X86_STEP, insn, reg, s0, s1)             \
      ACC(LOCI_PEAK_X86_STEP, insn, reg, s0, s1)             \
      "dec %[n]\n\t"                                         \
      "jnz 1b\n\t"                                           \
      "vzeroupper\n\t"                                       \
      : [n] "+r"(n)                                          \
      :                                                      \
      : "cc", ACC(LOCI_PEAK_X86_CLOBBER, ) "xmm" #s0, "xmm" #s1)
#endif

#if defined(__aarch64__)
#define LOCI_PEAK_ARM_ZERO(r, ...) "movi v" #r ".16b, #0\n\t"
// `insn v r.4s, v16<lanes>, v17<lanes>`: accumulator r += f(v16, v17).
#define LOCI_PEAK_ARM_STEP(r, insn, lanes) insn " v" #r ".4s, v16" lanes ", v17" lanes "\n\t"
#define LOCI_PEAK_ARM_CLOBBER(r, ...) "v" #r,

// Runs `n` iterations (n > 0) of `insn` into v0-v15, with sources v16, v17.
#define LOCI_PEAK_LOOP_ARM(n, insn, lanes)             \
  __asm__ volatile(                                    \
      LOCI_PEAK_ACC16(LOCI_PEAK_ARM_ZERO, )            \
      LOCI_PEAK_ARM_ZERO(16, )                         \
      LOCI_PEAK_ARM_ZERO(17, )                         \
      "1:\n\t"                                         \
      LOCI_PEAK_ACC16(LOCI_PEAK_ARM_STEP, insn, lanes) \
      LOCI_PEAK_ACC16(LOCI_PEAK_ARM_STEP, insn, lanes) \
      "subs %x[n], %x[n], #1\n\t"                      \
      "b.ne 1b\n\t"                                    \
      : [n] "+r"(n)                                    \
      :                                                \
      : "cc", LOCI_PEAK_ACC16(LOCI_PEAK_ARM_CLOBBER, ) "v16", "v17")
#endif
