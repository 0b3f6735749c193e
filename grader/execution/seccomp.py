"""The sandbox's seccomp filter: no new namespaces and no mounts inside the kernel.

    program = seccomp.program()          # bytes: a classic BPF program, for bwrap --seccomp FD

Run as root, bubblewrap makes its sandbox without a user namespace and the kernel runs as an unprivileged user
of its own; but where the Linux kernel allows unprivileged user namespaces, that user could make new ones
(``unshare -r``, ``unshare(CLONE_NEWUSER)``) and, inside them, mount, network and PID namespaces: no escape is
known, but it is kernel attack surface no homework needs. This filter, loaded by bwrap right before it starts
the kernel (and inherited by every process the kernel starts), answers:

* ``unshare`` with any namespace flag, ``clone`` with any namespace flag, ``setns``: ``EPERM``;
* ``clone3``: ``ENOSYS`` (its flags are in memory a filter cannot read; C libraries then fall back to ``clone``,
  which is checked);
* ``mount``, ``umount2``, ``pivot_root`` and the new mount API (``open_tree``, ``move_mount``, ``fsopen``,
  ``fsconfig``, ``fsmount``, ``fspick``, ``mount_setattr``): ``EPERM``;
* a system call of another ABI (32-bit ``int 0x80`` on x86-64, x32): ``EPERM`` (their numbers differ);
* everything else: allowed (threads, processes, files: what a notebook does).

The same choices as Flatpak's filter (flatpak-run.c, "Don't allow subnamespace setups") and Docker's default
profile (clone3 -> ENOSYS). Format: ``struct sock_filter`` and ``struct seccomp_data``, linux/filter.h and
linux/seccomp.h; system call numbers from the kernel's syscall tables (x86-64 syscall_64.tbl, the generic
table for arm64). Standard library only: the sandbox's launcher loads this file by path.
"""
import errno
import platform
import struct

# struct seccomp_data: int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6];
_NR, _ARCH, _ARG0_LOW = 0, 4, 16        # args[0]'s low 32 bits on a little-endian machine
_LD_W_ABS, _JEQ, _JGE, _JSET, _RET = 0x20, 0x15, 0x35, 0x45, 0x06
RET_ALLOW = 0x7FFF0000
RET_ERRNO = 0x00050000

CLONE_NEWTIME, CLONE_NEWNS, CLONE_NEWCGROUP = 0x00000080, 0x00020000, 0x02000000
CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER = 0x04000000, 0x08000000, 0x10000000
CLONE_NEWPID, CLONE_NEWNET = 0x20000000, 0x40000000
# clone()'s low byte is the exit signal (CSIGNAL): CLONE_NEWTIME is unshare's only
CLONE_NAMESPACES = CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID \
    | CLONE_NEWNET
UNSHARE_NAMESPACES = CLONE_NAMESPACES | CLONE_NEWTIME

# machine -> (AUDIT_ARCH_*, first number of a foreign ABI or None, {system call: number})
ARCHES = {
    "x86_64": (0xC000003E, 0x40000000, {   # x32 system calls have bit 30 set
        "clone": 56, "unshare": 272, "setns": 308, "clone3": 435, "mount": 165, "umount2": 166, "pivot_root": 155,
        "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433,
        "mount_setattr": 442}),
    "aarch64": (0xC00000B7, None, {
        "clone": 220, "unshare": 97, "setns": 268, "clone3": 435, "mount": 40, "umount2": 39, "pivot_root": 41,
        "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433,
        "mount_setattr": 442}),
}
DENIED = ("setns", "mount", "umount2", "pivot_root", "open_tree", "move_mount", "fsopen", "fsconfig", "fsmount",
          "fspick", "mount_setattr")


class Unsupported(RuntimeError):
    """No filter for this machine's architecture."""


def _assemble(code):
    """[(opcode, k, jump-if-true label, jump-if-false label) or ("label", name)] -> bytes of sock_filter."""
    labels, pos = {}, 0
    for item in code:
        if item[0] == "label":
            labels[item[1]] = pos
        else:
            pos += 1
    out, pos = [], 0
    for item in code:
        if item[0] == "label":
            continue
        op, k, jt, jf = item
        offsets = [labels[j] - pos - 1 if isinstance(j, str) else j for j in (jt, jf)]
        if not all(0 <= o <= 255 for o in offsets):
            raise ValueError("a jump out of range")
        out.append(struct.pack("=HBBI", op, offsets[0], offsets[1], k))
        pos += 1
    return b"".join(out)


def program(machine=None):
    """The filter for `machine` (default: this one's) as bytes for bwrap's --seccomp.

    Raises:
        Unsupported: an architecture without system-call numbers here.
    """
    machine = machine or platform.machine()
    if machine not in ARCHES:
        raise Unsupported(f"no seccomp filter for the {machine} architecture (known: {', '.join(ARCHES)})")
    arch, foreign, nr = ARCHES[machine]
    code = [(_LD_W_ABS, _ARCH, 0, 0), (_JEQ, arch, 0, "eperm"), (_LD_W_ABS, _NR, 0, 0)]
    if foreign is not None:
        code.append((_JGE, foreign, "eperm", 0))
    code += [(_JEQ, nr[name], "eperm", 0) for name in DENIED]
    code += [(_JEQ, nr["clone3"], "enosys", 0), (_JEQ, nr["unshare"], "unshare", 0),
             (_JEQ, nr["clone"], "clone", 0), (_RET, RET_ALLOW, 0, 0),
             ("label", "unshare"), (_LD_W_ABS, _ARG0_LOW, 0, 0), (_JSET, UNSHARE_NAMESPACES, "eperm", "allow"),
             ("label", "clone"), (_LD_W_ABS, _ARG0_LOW, 0, 0), (_JSET, CLONE_NAMESPACES, "eperm", "allow"),
             ("label", "allow"), (_RET, RET_ALLOW, 0, 0),
             ("label", "eperm"), (_RET, RET_ERRNO | errno.EPERM, 0, 0),
             ("label", "enosys"), (_RET, RET_ERRNO | errno.ENOSYS, 0, 0)]
    return _assemble(code)
