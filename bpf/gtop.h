/* SPDX-License-Identifier: (MIT OR GPL-2.0) */
/*
 * The wire format between bpf/gtop.bpf.c and src/bpf/events.ts, and the
 * read-only configuration user space writes before load. Fixed-width fields
 * only, explicit padding, every struct a multiple of 8 bytes: TypeScript
 * decodes these by offset (test/unit/bpf-events.test.ts checks the offsets
 * against this file with the system C compiler).
 */
#ifndef GTOP_H
#define GTOP_H

#include <linux/types.h>

/* Probe sites per session. */
#define GTOP_MAX_SITES 64
/*
 * bpf_cookie of every link: bits 0-15 the site index (site_hits, an event's
 * `site`). For gtop_create, whose value's place differs per site, also where
 * the new g is: bits 16-23 a register as its byte offset in struct pt_regs;
 * with GTOP_COOKIE_DEREF the value is the 8 bytes at that register plus the
 * signed 32-bit displacement in bits 32-63 (a stack slot).
 */
#define GTOP_COOKIE_SITE_MASK 0xffffULL
#define GTOP_COOKIE_REG_SHIFT 16
#define GTOP_COOKIE_DEREF (1ULL << 24)
#define GTOP_COOKIE_DISP_SHIFT 32
/* log2 buckets of the histograms (ns; bucket i holds [2^i, 2^(i+1))). */
#define GTOP_HIST_SLOTS 64
/* waitReason is a uint8 in every Go version. */
#define GTOP_MAX_REASONS 256
/* gtop_config.reason_chan_*: no such wait reason in this binary. */
#define GTOP_NO_REASON 255
/* Frames kept per stack in the stack-trace map. */
#define GTOP_STACK_DEPTH 64

enum gtop_event_kind {
	GTOP_EV_PARK = 1,
	GTOP_EV_READY = 2,
	GTOP_EV_CREATE = 3,
	GTOP_EV_EXIT = 4,
	GTOP_EV_MAKECHAN = 5,
	GTOP_EV_KINDS = 6,
};

/* Indexes of the per-CPU `counters` array. 1..5 count events by kind. */
enum gtop_counter {
	GTOP_CNT_DROPS = 8,        /* bpf_ringbuf_reserve failed */
	GTOP_CNT_READ_ERRORS = 9,  /* bpf_probe_read_user of target memory failed */
	GTOP_CNT_NO_CURG = 10,     /* g0.m.curg was nil: woken/created by the scheduler itself */
	GTOP_CNT_STACK_ERRORS = 11,/* bpf_get_stackid failed */
	GTOP_CNT_MAX = 16,
};

/* gtop_gstate.status */
enum gtop_gstatus {
	GTOP_GS_RUNNING = 1,
	GTOP_GS_PARKED = 2,
	GTOP_GS_RUNNABLE = 3,
};

/* Leading 24 bytes of every ring-buffer record. */
struct gtop_event_header {
	__u16 kind;     /* enum gtop_event_kind */
	__u16 site;     /* probe site (bpf_cookie) that produced it */
	__u32 tid;      /* kernel thread id */
	__u64 ts;       /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	__u64 goid;     /* the goroutine the event is about */
};

/* runtime.gopark: goid = the parking goroutine (R14). */
struct gtop_park_event {
	struct gtop_event_header h;
	__u64 lock;     /* gopark's lock argument (BX); &hchan.lock for channels */
	__s32 stack_id; /* key in the `stacks` map, negative errno on failure */
	__u8 reason;    /* waitReason (CX), version-specific numbering */
	__u8 pad[3];
};

/* runtime.ready: goid = the goroutine made runnable (AX). */
struct gtop_ready_event {
	struct gtop_event_header h;
	__u64 waker;    /* goid of g0.m.curg (0: woken by the scheduler/timers) */
	__u64 parked_ns;/* time since its park event, 0 when not seen parking */
};

/* runtime.newproc1's result, in a caller or at its RET: goid = the new goroutine. */
struct gtop_create_event {
	struct gtop_event_header h;
	__u64 parent;   /* goid of g0.m.curg, the creator */
	__u64 gopc;     /* pc of the go statement */
	__u64 startpc;  /* entry of the goroutine function */
};

/* runtime.goexit1 entry: goid = the exiting goroutine (R14). */
struct gtop_exit_event {
	struct gtop_event_header h;
	__u64 lifetime_ns; /* since its create event, 0 when not seen created */
};

/* runtime.makechan RET: goid = the goroutine that made the channel. */
struct gtop_makechan_event {
	struct gtop_event_header h;
	__u64 chan;     /* returned *hchan (AX) */
	__u64 caller_pc;/* return address, *(SP) at the RET */
};

/*
 * Value of the `chan_stats` map, keyed by *hchan: what the probes saw happen
 * to one channel. ts fields are bpf_ktime_get_ns(), 0 = never; goids 0 =
 * unknown. Counters are added atomically (several CPUs touch one channel).
 */
struct gtop_chan_stats {
	__u64 made_ts;      /* makechan RET: when, by whom, from where */
	__u64 made_goid;
	__u64 made_pc;      /* return address of the makechan call */
	__u64 sends;        /* chansend calls (full mode) */
	__u64 recvs;        /* chanrecv calls (full mode) */
	__u64 parks;        /* gopark on it (chan send/receive) */
	__u64 wakes;        /* ready of a goroutine parked on it */
	__u64 last_send_ts;
	__u64 last_send_goid;
	__u64 last_recv_ts;
	__u64 last_recv_goid;
	__u64 last_wake_ts;
	__u64 last_wake_waker; /* g0.m.curg at ready: who handed off */
	__u64 last_wake_woken;
	__u64 closed_ts;
	__u64 closed_goid;
};

/* Value of the `gstates` map, keyed by goid. */
struct gtop_gstate {
	__u64 since;    /* ts of the last park (PARKED) or create */
	__u64 created;  /* ts of the create event, 0 if unknown */
	__u64 lock;     /* lock of the last park */
	__s32 stack_id; /* stack of the last park */
	__u8 status;    /* enum gtop_gstatus */
	__u8 reason;    /* waitReason of the last park */
	__u8 pad[2];
};

/*
 * Everything per Go version, written into .rodata between open and load
 * (the only variable there, so it sits at offset 0). Offsets are byte
 * offsets into runtime structs of the target's Go version.
 */
struct gtop_config {
	__u32 off_g_goid;
	__u32 off_g_m;
	__u32 off_m_curg;
	__u32 off_g_gopc;
	__u32 off_g_startpc;
	__u32 park_stacks;  /* 1: record the user stack of every park */
	__u64 emit_mask;    /* bit k: send events of kind k to the ring buffer */
	__u32 off_hchan_lock; /* gopark's lock − this = *hchan for channel waits */
	__u8 reason_chan_send; /* waitReason numbers of "chan send"/"chan receive", */
	__u8 reason_chan_recv; /* GTOP_NO_REASON when the binary has none */
	__u8 pad[2];
};

#endif /* GTOP_H */
