/*
 * space.pml - the producer sleeping on a full ring (S1) and the reliable
 * consumers' releases waking it (R1/R2), with kw_space_sleepers as
 * the first format 2 design had it: a 0/1 flag the producer raises and a releasing
 * consumer takes (exchange) before it bumps kw_space_futex and wakes.
 *
 * Abstractions: a consumer's read position is a count of records released;
 * the producer needs every consumer to have released NEED of them. The
 * futex is its word (FUTEX_WAIT(v) blocks while it equals v); no timeouts:
 * a lost wake-up is a producer blocked forever (an invalid end state).
 * Sequential consistency stands for the seq_cst S1 and the R2 fence.
 *
 * Switches:
 *   FORMAT1   kw_space_sleepers is raised and lowered by the producer
 *             alone; a consumer that sees it non-zero bumps and wakes.
 *   V_FIRST   the producer loads the futex value before raising the flag
 *             (the first format 2 design: after).
 */
#ifndef NC
#define NC 2
#endif
#ifndef NEED
#define NEED 2
#endif

byte rp[NC];		/* kc_read_pos, in records */
byte sleepers;		/* kw_space_sleepers */
byte futex;		/* kw_space_futex */

#if NC == 1
#define MINRP	rp[0]
#else
#define MINRP	(rp[0] < rp[1] -> rp[0] : rp[1])
#endif

proctype Consumer(byte me)
{
	bit took;
	do
	:: rp[me] < NEED ->
		/* R1: release */
		atomic { rp[me]++; printf("MSG: consumer %d releases record %d\n", me, rp[me]) };
		/* R2: full fence, then the flag */
#ifdef FORMAT1
		if :: sleepers != 0 -> futex++ :: else fi
#else
		atomic { took = sleepers; sleepers = 0;
			 if :: took -> printf("MSG: consumer %d takes the flag\n", me) :: else fi };
		if
		:: took ->	/* bump + FUTEX_WAKE */
			atomic { futex++; printf("MSG: consumer %d: futex -> %d, FUTEX_WAKE\n", me, futex) }
		:: else
		fi
#endif
	:: else -> break
	od
}

proctype Producer()
{
	byte v;
	do
	:: MINRP >= NEED -> break	/* room: claim goes on */
	:: else ->
#ifdef V_FIRST
		atomic { v = futex; printf("MSG: producer loads futex %d\n", v) };
#endif
		/* S1 (seq_cst) */
		atomic { sleepers = 1; printf("MSG: producer: ring full: raises kw_space_sleepers\n") };
#ifndef V_FIRST
		atomic { v = futex; printf("MSG: producer loads futex %d\n", v) };
#endif
		if			/* rescan */
		:: MINRP >= NEED
		:: else ->
			printf("MSG: producer: rescan, still full: FUTEX_WAIT(futex, %d)\n", v);
			(futex != v)	/* FUTEX_WAIT(v) returned */
		fi;
		sleepers = 0		/* lower it (FORMAT1), or it is taken */
	od
}

init
{
	atomic {
		run Consumer(0);
#if NC > 1
		run Consumer(1);
#endif
		run Producer()
	}
}
