/*
 * wake.pml - consumers parking on the data futex (W1/W2) and the
 * producer's wake (C2/C3), with the sleeper accounting of format 2: who
 * announces a sleep, who takes the announcement back, and what a consumer
 * killed at any step leaves behind.
 *
 * Abstractions: records are counted, not stored (ring.pml checks their
 * contents); wp stands for C0 (the commit word the consumer re-checks) and
 * C1 (kp_write_pos), stored in one step. The futex is its word:
 * FUTEX_WAIT(v) blocks while futex == v; FUTEX_WAKE is implied by the bump
 * that always precedes it. No timeouts, no spurious wake-ups: in C a lost
 * wake-up costs a 25 ms sleep slice; here it is a consumer blocked forever,
 * which spin reports as an invalid end state. Every statement is atomic and
 * runs in one global order (sequential consistency): W1 and the C2 fence
 * are seq_cst in C, which is what that order stands for.
 *
 * The protocol of docs/protocol.md (W0, W1, W2, U1; C2, C3) is
 * -DPARK=3 -DWAKER_TAKES=2 -DV_FIRST; the other switches are the variants
 * spin refutes (tests/model/run.sh, docs/model.md).
 *
 * Switches (spin -D...):
 *   PARK=0  format 1: kw_data_sleepers only; the consumer decrements it after
 *           its wait. A consumer killed while parked leaks its count.
 *   PARK=1  count and per-slot flag, as the first format 2 design had it: flag = 1, then
 *           count += 1; whoever takes the flag (exchange) decrements.
 *   PARK=2  the same, count += 1 first, then flag = 1.
 *   PARK=3  (default) a word of per-slot parked bits, which is the count:
 *           fetch_or(bit) to park, fetch_and(~bit) to take back; C2 wakes if
 *           the word is non-zero. One atomic op: a death cannot split it.
 *   WAKER_TAKES=1  C3 bumps the futex, wakes, then takes every set flag
 *           (the first format 2 design); =2 takes them before the bump; =0 (default) takes
 *           none: only a party that knows the owner is dead takes a flag.
 *   V_FIRST  the consumer loads the futex value v before it announces
 *           itself (format 1 and the first format 2 design load it after).
 *   NO_CLEANUP  nobody takes a dead consumer's flag (evictor, slot taker and
 *           the producer's sweep of dead parked slots all skip it).
 *   TSO     the producer's store of wp goes through a store buffer (x86-TSO):
 *           other processes see it when the buffer drains, at any time,
 *           at the C2 fence, or at the futex bump (a locked RMW). The
 *           consumer's announcement is an RMW (seq_cst: a locked op).
 *   NO_C2_FENCE  (with TSO) C2 without its full fence.
 *   DEMAND  (with TSO) format 3's asymmetric fence: the producer
 *           fences between C1 and C2 only while kp_fence_demand is
 *           non-zero (C1d, loaded after C1). A consumer's first wait
 *           raises the count, then its slot's flag (D1), then issues
 *           membarrier (W1b): a full fence on the producer's CPU, which
 *           here drains its store buffer. Later waits skip the barrier.
 *           After reading a record a consumer may stop asking (D2: takes
 *           its flag back, lowers the count); cleanup does the same for
 *           a dead consumer's flag.
 *   NO_BARRIER  (with DEMAND) the consumer raises the demand but issues no
 *           barrier.
 *   DEMAND_AFTER  (with DEMAND) the consumer raises the demand after its
 *           barrier, not before.
 *   C1D_FIRST  (with DEMAND) the producer loads the count before C1 (what a
 *           compiler could make of relaxed loads after a release store,
 *           without the signal fence the C code has).
 *   REARM_NO_BARRIER  (with DEMAND) a consumer that stopped asking and asks
 *           again issues no barrier the second time.
 *   DEATHS=n  at most n consumers are killed, each at any step (default 1)
 *   NC=n consumers (2, 3 at most), NREC records (default 3)
 */
#ifndef NC
#define NC 2
#endif
#ifndef NREC
#define NREC 3
#endif
#ifndef PARK
#define PARK 3
#endif
#ifndef WAKER_TAKES
#define WAKER_TAKES 0
#endif
#ifndef DEATHS
#define DEATHS 1
#endif

byte wp;		/* records committed (C0 + C1), as others see it */
#ifdef TSO
byte wp_buf;		/* the producer's store buffer: its latest wp */
#define DRAIN	wp = wp_buf
#else
#define wp_buf	wp
#define DRAIN	skip
#endif
byte futex;		/* kw_data_futex */
#ifdef DEMAND
byte demand;		/* kp_fence_demand */
bit dflag[NC];		/* kc_fence_demand */
bit demand_ok[NC];	/* a barrier returned after the raise (local) */
#define BARRIER	atomic { DRAIN; printf("MSG: membarrier: the producer's store buffer drains\n") }
/* D2: whoever takes the flag lowers the count, once */
#define UNDEMAND(i)	atomic { if :: dflag[i] -> dflag[i] = 0; assert(demand > 0); demand--; \
			printf("MSG: slot %d's fence demand taken back\n", i) :: else fi }
#endif
short sleepers;		/* kw_data_sleepers (PARK 0..2); signed: an underflow shows */
bit parked[NC];		/* kc_parked (PARK 1, 2); the bits of the word (PARK 3) */
bit dead[NC];		/* killed (what a liveness check of pid + start finds) */
byte deaths;
byte finished;		/* consumers that read everything or were killed */

#if PARK == 3
#if NC == 1
#define COUNT_NONZERO	(parked[0])
#elif NC == 2
#define COUNT_NONZERO	(parked[0] || parked[1])
#else
#define COUNT_NONZERO	(parked[0] || parked[1] || parked[2])
#endif
#else
#define COUNT_NONZERO	(sleepers != 0)
#endif

/* The consumer may be killed here (kill -9): at most DEATHS consumers. */
#define MAYDIE	if :: deaths < DEATHS -> deaths++; dead[me] = 1; \
			printf("MSG: consumer %d killed\n", me); goto died \
		:: true fi

/* Take slot i's announcement back: exchange the flag; a set flag is one
 * count to remove (PARK 1, 2); the bit is the count (PARK 3). */
#if PARK == 3
#define TAKE(i)	parked[i] = 0
#else
#define TAKE(i)	atomic { took = parked[i]; parked[i] = 0 }; \
		if :: took -> sleepers-- :: else fi
#endif

proctype Consumer(byte me)
{
	byte seen;	/* records read */
	byte v;
	bit took;
	bit rearm;	/* asked before, stopped (REARM_NO_BARRIER) */

	do
	:: seen == NREC -> break
	:: seen < wp ->			/* a record is there: read it */
		atomic { seen++; printf("MSG: consumer %d reads record %d\n", me, seen) };
#ifdef DEMAND
		/* D2 at a release: a consumer that keeps up stops asking */
		if
		:: demand_ok[me] || dflag[me] -> demand_ok[me] = 0; rearm = 1; UNDEMAND(me)
		:: true
		fi
#else
		skip
#endif
	:: else ->
		MAYDIE;
#ifdef V_FIRST
		atomic { v = futex;	/* the futex value, before announcing */
			 printf("MSG: consumer %d loads futex %d\n", me, v) };
		MAYDIE;
#endif
		/* W1: announce the sleep (seq_cst) */
#if PARK == 0
		atomic { sleepers++; printf("MSG: consumer %d: sleepers += 1\n", me) };
#elif PARK == 1
		atomic { parked[me] = 1; printf("MSG: consumer %d: parked flag = 1\n", me) };
		MAYDIE;
		atomic { sleepers++; printf("MSG: consumer %d: sleepers += 1\n", me) };
#elif PARK == 2
		atomic { sleepers++; printf("MSG: consumer %d: sleepers += 1\n", me) };
		MAYDIE;
		atomic { parked[me] = 1; printf("MSG: consumer %d: parked flag = 1\n", me) };
#else
		atomic { parked[me] = 1; printf("MSG: consumer %d: sets its parked bit\n", me) };
#endif
		MAYDIE;
#ifndef V_FIRST
		atomic { v = futex; printf("MSG: consumer %d loads futex %d\n", me, v) };
		MAYDIE;
#endif
#ifdef DEMAND
		/* D1, W1b: the first wait asks for the fence, then makes sure */
		if
		:: !demand_ok[me] ->
#ifdef DEMAND_AFTER
			BARRIER;
			MAYDIE;
#endif
			if
			:: !dflag[me] ->
				atomic { demand++; printf("MSG: consumer %d raises kp_fence_demand\n", me) };
				MAYDIE;
				dflag[me] = 1
			:: else
			fi;
			MAYDIE;
#if !defined(NO_BARRIER) && !defined(DEMAND_AFTER)
#ifdef REARM_NO_BARRIER
			if :: !rearm -> BARRIER :: else fi;
#else
			BARRIER;
#endif
#endif
			demand_ok[me] = 1;
			MAYDIE
		:: else
		fi;
#endif
		/* W2: re-check the expected commit word / kp_write_pos */
		if
		:: seen < wp
		:: else ->
			printf("MSG: consumer %d: record %d not there: FUTEX_WAIT(futex, %d)\n", me, seen + 1, v);
			(futex != v)	/* FUTEX_WAIT(v) has returned */
		fi;
		MAYDIE;
		/* take my own announcement back, unless someone has */
#if PARK == 0
		sleepers--
#else
		TAKE(me)
#endif
	od;
	finished++;
	goto out;
died:
	finished++;
out:
	skip
}

inline take_all(only_dead)
{
	i = 0;
	do
	:: i < NC ->
		if
		:: parked[i] && (!only_dead || dead[i]) ->
			printf("MSG: producer takes the parked flag of consumer %d\n", i);
			TAKE(i)
		:: else
		fi;
#ifdef DEMAND
		if
		:: only_dead && dead[i] -> UNDEMAND(i)
		:: else
		fi;
#endif
		i++
	:: else -> break
	od
}

/* C2 (full fence, load the count) and C3 after a commit. */
inline wake()
{
	if
	:: COUNT_NONZERO ->
#if WAKER_TAKES == 2
		take_all(0);
#endif
		/* C3: bump (release), FUTEX_WAKE(all) */
		atomic { DRAIN; futex++; printf("MSG: producer: C2 saw a sleeper: futex -> %d, FUTEX_WAKE\n", futex) };
#if WAKER_TAKES == 1
		take_all(0)
#endif
	:: else
	fi
}

/* Evictor, slot taker or the producer's sweep of parked slots: a flag is
 * taken only after the owner has been found dead. */
inline cleanup()
{
#if PARK != 0 && !defined(NO_CLEANUP)
	take_all(1)
#else
	skip
#endif
}

proctype Producer()
{
	byte i, d;
	bit took;

	do
	:: wp_buf < NREC ->
#if defined(DEMAND) && defined(C1D_FIRST)
		d = demand;
#endif
		/* C0 (commit words), C1 (kp_write_pos) */
		atomic { wp_buf++; printf("MSG: producer commits record %d\n", wp_buf) };
#ifdef DEMAND
		/* C1d: fence only if asked */
#ifndef C1D_FIRST
		d = demand;
#endif
		if
		:: d != 0 -> DRAIN; printf("MSG: producer: asked, fences\n")
		:: else -> printf("MSG: producer: not asked, no fence\n")
		fi;
#elif !defined(NO_C2_FENCE)
		DRAIN;		/* C2: the full fence drains the store buffer */
#endif
		wake()
	:: deaths > 0 -> cleanup()	/* at any time after a death */
	:: else -> break
	od;
	/* Every consumer has read everything or was killed. The liveness
	 * check runs once more, then one more commit (of nothing new) runs
	 * C2/C3, as the first commit after a death would. After it no
	 * sleeper may be counted: later commits make no futex syscall. */
	(finished == NC);
	cleanup();
	wake();
	assert(!COUNT_NONZERO);
	assert(sleepers == 0)
}

#ifdef TSO
/* The store buffer drains at any time. */
active proctype Drain()
{
end:	do
	:: atomic { wp != wp_buf -> wp = wp_buf; printf("MSG: wp = %d reaches memory\n", wp) }
	od
}
#endif

init
{
	byte k;
	atomic {
		k = 0;
		do
		:: k < NC -> run Consumer(k); k++
		:: else -> break
		od;
		run Producer()
	}
}
