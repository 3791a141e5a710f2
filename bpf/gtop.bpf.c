// SPDX-License-Identifier: (MIT OR GPL-2.0)
/*
 * Goroutine lifecycle probes for gtop. Attached by src/bpf/session.ts as plain
 * uprobes (never uretprobes: Go moves stacks and goroutines migrate between
 * threads) at offsets chosen by src/bpf/placement.ts. Nothing here knows a Go
 * version: struct offsets arrive in `cfg`, set between open and load.
 *
 * Registers are Go's ABIInternal (amd64): R14 = current g, arguments and
 * results in AX, BX, CX, DI, SI, ... The target's memory is only read.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>
#include "gtop.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

const volatile struct gtop_config cfg = {};

/* Sizes are defaults; session.ts resizes before load. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20);
} events SEC(".maps");

/* LRU so goroutines that exited unseen (or before attach) age out. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1 << 16);
	__type(key, __u64);
	__type(value, struct gtop_gstate);
} gstates SEC(".maps");

/* Per channel, keyed by *hchan; LRU so channels long gone age out. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1 << 15);
	__type(key, __u64);
	__type(value, struct gtop_chan_stats);
} chan_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 1 << 14);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, GTOP_STACK_DEPTH * sizeof(__u64));
} stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, GTOP_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, GTOP_MAX_SITES);
	__type(key, __u32);
	__type(value, __u64);
} site_hits SEC(".maps");

/* key = reason * GTOP_HIST_SLOTS + log2(blocked ns) */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, GTOP_MAX_REASONS * GTOP_HIST_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} blocked_hist SEC(".maps");

/* key = log2(lifetime ns) */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, GTOP_HIST_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} lifetime_hist SEC(".maps");

static __always_inline void bump(void *map, __u32 key)
{
	__u64 *v = bpf_map_lookup_elem(map, &key);

	/* Per-CPU slot and programs don't migrate: no atomic needed. */
	if (v)
		*v += 1;
}

/* Counts the hit of this probe site (the bpf_cookie's low bits). */
static __always_inline __u16 hit_site(struct pt_regs *ctx)
{
	__u64 site = bpf_get_attach_cookie(ctx) & GTOP_COOKIE_SITE_MASK;

	if (site >= GTOP_MAX_SITES)
		site = GTOP_MAX_SITES - 1;
	bump(&site_hits, (__u32)site);
	return (__u16)site;
}

static __always_inline __u64 read_u64(__u64 addr)
{
	__u64 v = 0;

	if (!addr || bpf_probe_read_user(&v, sizeof(v), (const void *)addr)) {
		bump(&counters, GTOP_CNT_READ_ERRORS);
		return 0;
	}
	return v;
}

/* struct pt_regs up to and including rsp, in 8-byte words. */
#define GTOP_REGS_WORDS (__builtin_offsetof(struct pt_regs, rsp) / 8 + 1)

/*
 * A general register by its byte offset in struct pt_regs. Copied out first
 * and indexed on the stack: a switch of ctx->reg loads is merged by clang
 * into one load through a computed ctx pointer, which the verifier rejects
 * ("dereference of modified ctx ptr").
 */
static __always_inline __u64 reg_at(struct pt_regs *ctx, __u32 off)
{
	__u64 regs[GTOP_REGS_WORDS];

	__u64 i = off / 8;

	__builtin_memcpy(regs, ctx, sizeof(regs));
	/* Opaque to clang, so the bound check below stays one the verifier can follow. */
	asm volatile("" : "+r"(i));
	if (i >= GTOP_REGS_WORDS)
		i = __builtin_offsetof(struct pt_regs, rax) / 8;
	return regs[i];
}

/* The value the cookie locates (GTOP_COOKIE_*): a register or a slot it points into. */
static __always_inline __u64 cookie_value(struct pt_regs *ctx)
{
	__u64 cookie = bpf_get_attach_cookie(ctx);
	__u64 v = reg_at(ctx, (__u32)(cookie >> GTOP_COOKIE_REG_SHIFT) & 0xff);

	if (cookie & GTOP_COOKIE_DEREF)
		v = read_u64(v + (__s64)(__s32)(cookie >> GTOP_COOKIE_DISP_SHIFT));
	return v;
}

static __always_inline __u64 goid_of(__u64 g)
{
	return g ? read_u64(g + cfg.off_g_goid) : 0;
}

/* On g0 (ready, newproc1) the user goroutine on this M is g0.m.curg. */
static __always_inline __u64 curg_goid(__u64 g0)
{
	__u64 m = read_u64(g0 + cfg.off_g_m);
	__u64 curg = m ? read_u64(m + cfg.off_m_curg) : 0;

	if (!curg) {
		bump(&counters, GTOP_CNT_NO_CURG);
		return 0;
	}
	return goid_of(curg);
}

static __always_inline __u32 log2_u64(__u64 v)
{
	__u32 r = 0, shift;

	shift = (v > 0xffffffff) << 5; v >>= shift; r |= shift;
	shift = (v > 0xffff) << 4; v >>= shift; r |= shift;
	shift = (v > 0xff) << 3; v >>= shift; r |= shift;
	shift = (v > 0xf) << 2; v >>= shift; r |= shift;
	shift = (v > 0x3) << 1; v >>= shift; r |= shift;
	r |= (v >> 1);
	return r;
}

/* The channel a park with this reason and lock waits on, 0 if not a channel wait. */
static __always_inline __u64 parked_chan(__u8 reason, __u64 lock)
{
	if (!lock || reason == GTOP_NO_REASON || !cfg.off_hchan_lock)
		return 0;
	if (reason != cfg.reason_chan_send && reason != cfg.reason_chan_recv)
		return 0;
	return lock - cfg.off_hchan_lock;
}

/* The stats of channel c, created empty if absent (a channel made before attach). */
static __always_inline struct gtop_chan_stats *chan_entry(__u64 c)
{
	struct gtop_chan_stats *v = bpf_map_lookup_elem(&chan_stats, &c), fresh = {};

	if (v)
		return v;
	bpf_map_update_elem(&chan_stats, &c, &fresh, BPF_NOEXIST);
	return bpf_map_lookup_elem(&chan_stats, &c);
}

/* Reserves a record of `size` bytes and fills its header; NULL when not emitted. */
static __always_inline void *emit(__u32 size, __u16 kind, __u16 site, __u64 ts, __u64 goid)
{
	struct gtop_event_header *h;

	bump(&counters, kind);
	if (!(cfg.emit_mask & (1ULL << kind)))
		return NULL;
	h = bpf_ringbuf_reserve(&events, size, 0);
	if (!h) {
		bump(&counters, GTOP_CNT_DROPS);
		return NULL;
	}
	h->kind = kind;
	h->site = site;
	h->tid = (__u32)bpf_get_current_pid_tgid();
	h->ts = ts;
	h->goid = goid;
	return h;
}

/* runtime.gopark(unlockf, lock, reason, ...): R14 = the parking g. */
SEC("uprobe")
int gtop_park(struct pt_regs *ctx)
{
	__u16 site = hit_site(ctx);
	__u64 goid = goid_of(ctx->r14), ts = bpf_ktime_get_ns();
	struct gtop_gstate *st, fresh = {};
	struct gtop_park_event *e;
	struct gtop_chan_stats *cs;
	__s32 stack_id = -2; /* -ENOENT: not collected */
	__u64 chan;

	if (!goid)
		return 0;
	if (cfg.park_stacks) {
		stack_id = bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK);
		if (stack_id < 0)
			bump(&counters, GTOP_CNT_STACK_ERRORS);
	}
	st = bpf_map_lookup_elem(&gstates, &goid);
	if (!st)
		st = &fresh;
	st->since = ts;
	st->lock = ctx->rbx;
	st->stack_id = stack_id;
	st->status = GTOP_GS_PARKED;
	st->reason = (__u8)ctx->rcx;
	if (st == &fresh)
		bpf_map_update_elem(&gstates, &goid, &fresh, BPF_ANY);
	chan = parked_chan((__u8)ctx->rcx, ctx->rbx);
	if (chan && (cs = chan_entry(chan)))
		__sync_fetch_and_add(&cs->parks, 1);

	e = emit(sizeof(*e), GTOP_EV_PARK, site, ts, goid);
	if (!e)
		return 0;
	e->lock = ctx->rbx;
	e->stack_id = stack_id;
	e->reason = (__u8)ctx->rcx;
	__builtin_memset(e->pad, 0, sizeof(e->pad));
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
	return 0;
}

/* runtime.ready(gp, traceskip, next): runs on g0; AX = the woken g. */
SEC("uprobe")
int gtop_ready(struct pt_regs *ctx)
{
	__u16 site = hit_site(ctx);
	__u64 goid = goid_of(ctx->rax), ts = bpf_ktime_get_ns(), parked = 0, chan = 0, waker = 0;
	struct gtop_gstate *st;
	struct gtop_ready_event *e;
	struct gtop_chan_stats *cs;

	if (!goid)
		return 0;
	st = bpf_map_lookup_elem(&gstates, &goid);
	if (st && st->status == GTOP_GS_PARKED && ts > st->since) {
		parked = ts - st->since;
		bump(&blocked_hist, (__u32)st->reason * GTOP_HIST_SLOTS + log2_u64(parked));
		st->status = GTOP_GS_RUNNABLE;
		chan = parked_chan(st->reason, st->lock);
	}
	/* A hand-off on a channel: the waker is the goroutine whose M runs ready. */
	if (chan && (cs = chan_entry(chan))) {
		waker = curg_goid(ctx->r14);
		__sync_fetch_and_add(&cs->wakes, 1);
		cs->last_wake_ts = ts;
		cs->last_wake_waker = waker;
		cs->last_wake_woken = goid;
	}
	e = emit(sizeof(*e), GTOP_EV_READY, site, ts, goid);
	if (!e)
		return 0;
	e->waker = chan ? waker : curg_goid(ctx->r14);
	e->parked_ns = parked;
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
	return 0;
}

/*
 * runtime.newproc1 returned the new g: on g0 (systemstack), at a site in one
 * of its callers (e.g. newproc.func1's CALL runqput, new g in BX) or at its
 * RET (AX); the cookie says where the g is.
 */
SEC("uprobe")
int gtop_create(struct pt_regs *ctx)
{
	__u16 site = hit_site(ctx);
	__u64 newg = cookie_value(ctx), goid = goid_of(newg), ts = bpf_ktime_get_ns();
	struct gtop_gstate st = {};
	struct gtop_create_event *e;

	if (!goid)
		return 0;
	st.since = ts;
	st.created = ts;
	st.status = GTOP_GS_RUNNABLE;
	bpf_map_update_elem(&gstates, &goid, &st, BPF_ANY);

	e = emit(sizeof(*e), GTOP_EV_CREATE, site, ts, goid);
	if (!e)
		return 0;
	e->parent = curg_goid(ctx->r14);
	e->gopc = read_u64(newg + cfg.off_g_gopc);
	e->startpc = read_u64(newg + cfg.off_g_startpc);
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
	return 0;
}

/* runtime.goexit1: R14 = the exiting g. */
SEC("uprobe")
int gtop_exit(struct pt_regs *ctx)
{
	__u16 site = hit_site(ctx);
	__u64 goid = goid_of(ctx->r14), ts = bpf_ktime_get_ns(), life = 0;
	struct gtop_gstate *st;
	struct gtop_exit_event *e;

	if (!goid)
		return 0;
	st = bpf_map_lookup_elem(&gstates, &goid);
	if (st && st->created && ts > st->created) {
		life = ts - st->created;
		bump(&lifetime_hist, log2_u64(life));
	}
	bpf_map_delete_elem(&gstates, &goid);

	e = emit(sizeof(*e), GTOP_EV_EXIT, site, ts, goid);
	if (!e)
		return 0;
	e->lifetime_ns = life;
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
	return 0;
}

/*
 * Each RET of runtime.makechan: AX = *hchan, *(SP) = return address. (No
 * version has a kernel-emulated instruction after its last write of AX, so
 * the RET it is.) A new channel may reuse a dead one's address: start afresh.
 */
SEC("uprobe")
int gtop_makechan(struct pt_regs *ctx)
{
	__u16 site = hit_site(ctx);
	__u64 c = ctx->rax, ts = bpf_ktime_get_ns(), goid = goid_of(ctx->r14), pc = read_u64(ctx->rsp);
	struct gtop_chan_stats fresh = {};
	struct gtop_makechan_event *e;

	if (c) {
		fresh.made_ts = ts;
		fresh.made_goid = goid;
		fresh.made_pc = pc;
		bpf_map_update_elem(&chan_stats, &c, &fresh, BPF_ANY);
	}
	e = emit(sizeof(*e), GTOP_EV_MAKECHAN, site, ts, goid);
	if (!e)
		return 0;
	e->chan = c;
	e->caller_pc = pc;
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
	return 0;
}

/* runtime.chansend(c, ep, block, callerpc): R14 = the sender, AX = c. Counted only. */
SEC("uprobe")
int gtop_chansend(struct pt_regs *ctx)
{
	__u64 c = ctx->rax;
	struct gtop_chan_stats *cs;

	hit_site(ctx);
	if (!c || !(cs = chan_entry(c)))
		return 0;
	__sync_fetch_and_add(&cs->sends, 1);
	cs->last_send_ts = bpf_ktime_get_ns();
	cs->last_send_goid = goid_of(ctx->r14);
	return 0;
}

/* runtime.chanrecv(c, ep, block): R14 = the receiver, AX = c. Counted only. */
SEC("uprobe")
int gtop_chanrecv(struct pt_regs *ctx)
{
	__u64 c = ctx->rax;
	struct gtop_chan_stats *cs;

	hit_site(ctx);
	if (!c || !(cs = chan_entry(c)))
		return 0;
	__sync_fetch_and_add(&cs->recvs, 1);
	cs->last_recv_ts = bpf_ktime_get_ns();
	cs->last_recv_goid = goid_of(ctx->r14);
	return 0;
}

/*
 * runtime.closechan(c): R14 = the closer, AX = c. The first close counts: a
 * second one panics ("close of closed channel") after this probe.
 */
SEC("uprobe")
int gtop_closechan(struct pt_regs *ctx)
{
	__u64 c = ctx->rax;
	struct gtop_chan_stats *cs;

	hit_site(ctx);
	if (!c || !(cs = chan_entry(c)) || cs->closed_ts)
		return 0;
	cs->closed_ts = bpf_ktime_get_ns();
	cs->closed_goid = goid_of(ctx->r14);
	return 0;
}
