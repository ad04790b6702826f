/* cgroup v2 has no devices controller: device access is decided by a
 * BPF_PROG_TYPE_CGROUP_DEVICE program attached to the group. The program is
 * assembled here from raw instructions (the layout systemd and crun use), so
 * no BPF compiler or libbpf is needed at build or run time.
 *
 * Program: load the request (type, access, major, minor) into r2..r5, then
 * one block per rule that jumps to the next block on any mismatch and
 * returns 1 (allow) otherwise; the end returns 0 (deny). */
#include "runtime/cgroup_backend.h"
#include "core/cleanup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_RULE_INSNS 8
#define MAX_ATTACHED   64 /* the kernel's limit of programs per cgroup and type */

static struct bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
	return (struct bpf_insn){
	        .code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm};
}

static struct bpf_insn load_u32(uint8_t dst, int16_t off)
{
	return insn(BPF_LDX | BPF_W | BPF_MEM, dst, BPF_REG_1, off, 0);
}

static struct bpf_insn jne_imm(uint8_t reg, int32_t imm)
{
	return insn(BPF_JMP | BPF_JNE | BPF_K, reg, 0, 0, imm);
}

static struct bpf_insn mov64_imm(uint8_t reg, int32_t imm)
{
	return insn(BPF_ALU64 | BPF_MOV | BPF_K, reg, 0, 0, imm);
}

static struct bpf_insn exit_insn(void)
{
	return insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
}

static int access_bits(const char *access)
{
	int bits = 0;
	bits |= strchr(access, 'r') ? BPF_DEVCG_ACC_READ : 0;
	bits |= strchr(access, 'w') ? BPF_DEVCG_ACC_WRITE : 0;
	bits |= strchr(access, 'm') ? BPF_DEVCG_ACC_MKNOD : 0;
	return bits;
}

/* One rule's block; returns its length. */
static size_t rule_block(const struct vl_cgroup_device_rule *r, struct bpf_insn *out)
{
	const int all = BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD;
	int bits = access_bits(r->access);
	size_t n = 0;

	if (r->type != 'a')
		out[n++] = jne_imm(BPF_REG_2,
		                   r->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR);
	if (bits != all) {
		/* A request matches when every access it asks for is allowed. */
		out[n++] = insn(BPF_ALU | BPF_MOV | BPF_X, BPF_REG_1, BPF_REG_3, 0, 0);
		out[n++] = insn(BPF_ALU | BPF_AND | BPF_K, BPF_REG_1, 0, 0, bits);
		out[n++] = insn(BPF_JMP | BPF_JNE | BPF_X, BPF_REG_1, BPF_REG_3, 0, 0);
	}
	if (r->major >= 0)
		out[n++] = jne_imm(BPF_REG_4, (int32_t)r->major);
	if (r->minor >= 0)
		out[n++] = jne_imm(BPF_REG_5, (int32_t)r->minor);
	out[n++] = mov64_imm(BPF_REG_0, 1);
	out[n++] = exit_insn();
	/* Mismatches skip to the instruction after this block's exit. */
	for (size_t i = 0; i + 2 < n; i++)
		if (BPF_CLASS(out[i].code) == BPF_JMP)
			out[i].off = (int16_t)(n - i - 1);
	return n;
}

int vl_cgroup_bpf_devices_build(const struct vl_cgroup_device_rule *rules, size_t n_rules,
                                struct bpf_insn **insns, size_t *n_insns, vl_error *err)
{
	const struct bpf_insn prologue[] = {
	        load_u32(BPF_REG_2, 0), /* access_type: type in the low 16 bits */
	        insn(BPF_ALU | BPF_AND | BPF_K, BPF_REG_2, 0, 0, 0xFFFF),
	        load_u32(BPF_REG_3, 0), /* access in the high 16 bits */
	        insn(BPF_ALU | BPF_RSH | BPF_K, BPF_REG_3, 0, 0, 16),
	        load_u32(BPF_REG_4, 4), /* major */
	        load_u32(BPF_REG_5, 8), /* minor */
	};
	size_t cap = sizeof(prologue) / sizeof(prologue[0]) + (n_rules + 1) * MAX_RULE_INSNS;
	cleanup_free struct bpf_insn *prog = calloc(cap, sizeof(*prog));
	size_t n = sizeof(prologue) / sizeof(prologue[0]);
	bool allows_all = false;

	if (!prog)
		return vl_error_errno(err, ENOMEM, "building the device program");
	memcpy(prog, prologue, sizeof(prologue));
	for (size_t i = 0; i < n_rules && !allows_all; i++) {
		n += rule_block(&rules[i], prog + n);
		/* Code after an unconditional allow is unreachable, which the verifier rejects. */
		allows_all = rules[i].type == 'a';
	}
	if (!allows_all) {
		prog[n++] = mov64_imm(BPF_REG_0, 0);
		prog[n++] = exit_insn();
	}
	*insns = vl_steal_ptr(prog);
	*n_insns = n;
	return 0;
}

static int bpf(int cmd, union bpf_attr *attr)
{
	return (int)syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

static int load(const struct bpf_insn *insns, size_t n_insns, vl_error *err)
{
	const size_t log_size = 16384;
	cleanup_free char *log = NULL;
	union bpf_attr attr;
	int fd;

	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	attr.insns = (uint64_t)(uintptr_t)insns;
	attr.insn_cnt = (uint32_t)n_insns;
	attr.license = (uint64_t)(uintptr_t) "GPL";
	fd = bpf(BPF_PROG_LOAD, &attr);
	if (fd < 0 && errno == EPERM) {
		/* Before Linux 5.11 programs were charged to RLIMIT_MEMLOCK. */
		struct rlimit unlimited = {RLIM_INFINITY, RLIM_INFINITY};
		setrlimit(RLIMIT_MEMLOCK, &unlimited);
		fd = bpf(BPF_PROG_LOAD, &attr);
	}
	if (fd >= 0)
		return fd;
	/* Again with the verifier's log, which says what it disliked. */
	log = calloc(1, log_size);
	if (!log)
		return vl_error_errno(err, ENOMEM, "loading the device BPF program");
	attr.log_level = 1;
	attr.log_buf = (uint64_t)(uintptr_t)log;
	attr.log_size = (uint32_t)log_size;
	fd = bpf(BPF_PROG_LOAD, &attr);
	if (fd >= 0)
		return fd;
	log[strcspn(log, "\n")] = '\0';
	return vl_error_errno(err, errno, "loading the device BPF program (%zu instructions)%s%s",
	                      n_insns, log[0] ? ": " : "", log);
}

int vl_cgroup_bpf_devices_attach(const char *dir, const struct bpf_insn *insns, size_t n_insns,
                                 vl_error *err)
{
	cleanup_close int dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cleanup_close int prog_fd = -1;
	uint32_t old_ids[MAX_ATTACHED];
	union bpf_attr attr;

	if (dir_fd < 0)
		return vl_error_errno(err, errno, "opening cgroup %s", dir);
	prog_fd = load(insns, n_insns, err);
	if (prog_fd < 0)
		return -1;

	memset(&attr, 0, sizeof(attr));
	attr.query.target_fd = (uint32_t)dir_fd;
	attr.query.attach_type = BPF_CGROUP_DEVICE;
	attr.query.prog_ids = (uint64_t)(uintptr_t)old_ids;
	attr.query.prog_cnt = MAX_ATTACHED;
	if (bpf(BPF_PROG_QUERY, &attr) < 0)
		return vl_error_errno(err, errno, "listing the device programs of %s", dir);

	/* The new program goes in before the old ones leave, so that the group
	 * is never without a policy. */
	{
		uint32_t n_old = attr.query.prog_cnt;
		memset(&attr, 0, sizeof(attr));
		attr.target_fd = (uint32_t)dir_fd;
		attr.attach_bpf_fd = (uint32_t)prog_fd;
		attr.attach_type = BPF_CGROUP_DEVICE;
		attr.attach_flags = BPF_F_ALLOW_MULTI;
		if (bpf(BPF_PROG_ATTACH, &attr) < 0)
			return vl_error_errno(err, errno, "attaching the device program to %s",
			                      dir);
		for (uint32_t i = 0; i < n_old; i++) {
			cleanup_close int old_fd = -1;
			memset(&attr, 0, sizeof(attr));
			attr.prog_id = old_ids[i];
			old_fd = bpf(BPF_PROG_GET_FD_BY_ID, &attr);
			/* ENOENT: another update detached it already. */
			if (old_fd < 0 && errno == ENOENT)
				continue;
			if (old_fd < 0)
				return vl_error_errno(err, errno, "opening device program %u of %s",
				                      old_ids[i], dir);
			memset(&attr, 0, sizeof(attr));
			attr.target_fd = (uint32_t)dir_fd;
			attr.attach_bpf_fd = (uint32_t)old_fd;
			attr.attach_type = BPF_CGROUP_DEVICE;
			if (bpf(BPF_PROG_DETACH, &attr) < 0 && errno != ENOENT)
				return vl_error_errno(err, errno,
				                      "detaching device program %u from %s",
				                      old_ids[i], dir);
		}
	}
	return 0;
}
