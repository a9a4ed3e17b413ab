/*
 * Make this process's CPU look like an AVX2-only one (AMD Zen 3's instruction sets) to every library in it.
 *
 * Loaded with LD_PRELOAD by bench/avx2_only.py. Libraries pick their kernels from the CPUID
 * instruction (oneDNN, ONNX Runtime's MLAS, PyTorch's cpuinfo, NumPy), so capping one of them (oneDNN's
 * ONEDNN_MAX_CPU_ISA) leaves the others on AVX-512, VNNI and AMX. Here the kernel makes CPUID fault in
 * this process (arch_prctl ARCH_SET_CPUID, where the CPU can: "cpuid_fault" in /proc/cpuinfo), and the
 * SIGSEGV handler answers each CPUID with the real answer less every AVX-512, VNNI, AMX and AVX10 bit.
 * Threads inherit the faulting; a new program (execve) loads this library again.
 * A SIGSEGV handler installed later (Python's faulthandler, for one) would take these faults: leave it off.
 *
 * glibc chose its string functions before this library loaded: bench/avx2_only.py sets
 * GLIBC_TUNABLES to take AVX-512 from those as well.
 */
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <cpuid.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

static long cpuid_faulting(int faults)
{
    /* ARCH_SET_CPUID's argument is "CPUID allowed": 0 makes it fault. */
    return syscall(SYS_arch_prctl, ARCH_SET_CPUID, faults ? 0 : 1);
}

static void clear_features(unsigned leaf, unsigned subleaf, unsigned regs[4])
{
    enum { EAX, EBX, ECX, EDX };
    if (leaf == 7 && subleaf == 0) {
        /* AVX512F, DQ, IFMA, PF, ER, CD, BW, VL */
        regs[EBX] &= ~((1u << 16) | (1u << 17) | (1u << 21) | (1u << 26) | (1u << 27) | (1u << 28) |
                       (1u << 30) | (1u << 31));
        /* AVX512_VBMI, VBMI2, VNNI, BITALG, VPOPCNTDQ */
        regs[ECX] &= ~((1u << 1) | (1u << 6) | (1u << 11) | (1u << 12) | (1u << 14));
        /* AVX512_4VNNIW, 4FMAPS, VP2INTERSECT, AMX_BF16, AVX512_FP16, AMX_TILE, AMX_INT8 */
        regs[EDX] &= ~((1u << 2) | (1u << 3) | (1u << 8) | (1u << 22) | (1u << 23) | (1u << 24) |
                       (1u << 25));
    } else if (leaf == 7 && subleaf == 1) {
        /* AVX_VNNI, AVX512_BF16, AMX_FP16, AVX_IFMA */
        regs[EAX] &= ~((1u << 4) | (1u << 5) | (1u << 21) | (1u << 23));
        /* AVX_VNNI_INT8, AVX_NE_CONVERT, AMX_COMPLEX, AVX_VNNI_INT16, AVX10 */
        regs[EDX] &= ~((1u << 4) | (1u << 5) | (1u << 8) | (1u << 10) | (1u << 19));
    } else if (leaf == 0xd && subleaf == 0) {
        /* XSAVE state components: AVX-512's opmask, ZMM_Hi256, Hi16_ZMM; AMX's XTILECFG, XTILEDATA */
        regs[EAX] &= ~((1u << 5) | (1u << 6) | (1u << 7) | (1u << 17) | (1u << 18));
    } else if (leaf == 0x1d || leaf == 0x1e || leaf == 0x24) {
        regs[EAX] = regs[EBX] = regs[ECX] = regs[EDX] = 0; /* AMX's tiles and TMUL, AVX10's version */
    }
}

static void answer_cpuid(int signal_number, siginfo_t *info, void *context)
{
    (void)info;
    ucontext_t *state = context;
    greg_t *gregs = state->uc_mcontext.gregs;
    const unsigned char *instruction = (const unsigned char *)gregs[REG_RIP];
    if (instruction[0] != 0x0f || instruction[1] != 0xa2) {
        /* A real fault: let it happen again, with the default action. */
        signal(signal_number, SIG_DFL);
        return;
    }
    unsigned leaf = (unsigned)gregs[REG_RAX], subleaf = (unsigned)gregs[REG_RCX];
    unsigned regs[4];
    cpuid_faulting(0);
    __cpuid_count(leaf, subleaf, regs[0], regs[1], regs[2], regs[3]);
    cpuid_faulting(1);
    clear_features(leaf, subleaf, regs);
    gregs[REG_RAX] = regs[0];
    gregs[REG_RBX] = regs[1];
    gregs[REG_RCX] = regs[2];
    gregs[REG_RDX] = regs[3];
    gregs[REG_RIP] += 2;
}

__attribute__((constructor)) static void install(void)
{
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = answer_cpuid;
    action.sa_flags = SA_SIGINFO | SA_RESTART | SA_NODEFER;
    sigemptyset(&action.sa_mask);
    if (sigaction(SIGSEGV, &action, NULL) != 0 || cpuid_faulting(1) != 0) {
        fputs("avx2_only: this CPU or kernel cannot make CPUID fault\n", stderr);
        _exit(97);
    }
}
