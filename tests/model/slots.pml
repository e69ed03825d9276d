/*
 * slots.pml - consumer slot ownership: attach (take a free or evicted slot,
 * or take over a dead owner's), register (R3), close, and the producer's
 * eviction of a dead reliable consumer, with format 2's slot word: state,
 * owner pid and generation in one 64-bit word, every transition a CAS from
 * the exact word seen that bumps the generation.
 *
 * One slot, found owned (RELIABLE) by pid 0, which has died; two attachers
 * (pids 1, 2) and the producer's evictor race for it. Any attacher may be
 * killed at any step (then its pid is dead: the liveness check, pid + start
 * time, is exact here; pid reuse is what kc_start/kc_start_gen are for and
 * is not modelled). An attacher that wins the slot registers, may notice
 * being evicted, and closes.
 *
 * Properties:
 *   - at most one live process believes it owns the slot (monitor);
 *   - a slot is taken over only from a dead owner;
 *   - the evictor's CAS succeeds only on a slot whose current owner is dead.
 *
 * NO_OWNER_CHECK leaves the first property out (to look for the second
 * alone); EVICT_TRIES (default 2) bounds the evictor's scans.
 *
 * START_BEFORE_GEN: a taker judging a CLAIMED slot loads kc_start before
 * kc_start_gen (then a kc_start_gen that matches does not make the start
 * time it read that claim's): spin finds a live attacher's slot taken.
 *
 * FORMAT1_SLOTS: format 1's slot: a 32-bit state changed by CAS on the state
 * alone, the pid a separate field written after the claim. Spin finds two
 * live owners (two attachers racing for the dead owner's slot) and the
 * eviction of the live attacher that just took the slot over.
 */
#define FREE	0
#define CLAIMED	1
#define RELIABLE 2
#define EVICTED	4

#ifndef EVICT_TRIES
#define EVICT_TRIES 2
#endif
#ifndef DEATHS
#define DEATHS 1
#endif

#ifdef FORMAT1_SLOTS
byte kc_state = RELIABLE;	/* kc_state */
byte kc_pid = 0;		/* kc_pid, written after the claim */
#else
/* kc_word = state | pid << 3 | gen << 5 (C: state 8 bits, pid 32, gen 24) */
#define W(st, pid, gen)	((st) | ((pid) << 3) | ((gen) << 5))
#define ST(w)	((w) & 7)
#define PID(w)	(((w) >> 3) & 3)
#define GEN(w)	((w) >> 5)
short kc_word = W(RELIABLE, 0, 1);
/* kc_start: the owner's start time; process p's is 10 + p (no pid reuse:
 * a start time names one process). kc_start_gen: the generation of the
 * claim that wrote kc_start. */
byte kc_start = 10;
short kc_start_gen = 1;
#define ALIVE(pid, start)	(alive[pid] && (start) == 10 + (pid))
#endif

bit alive[3];		/* pid 0: the dead owner; 1, 2: attachers */
bit owns[3];		/* ghost: believes it owns the slot */
byte cur_owner;		/* ghost: the last process whose claim succeeded */
byte deaths;

#define MAYDIE	if :: deaths < DEATHS -> deaths++; alive[me] = 0; goto out :: true fi

/* CAS: in one step, compare and swap (the C11 strong CAS) */
#ifdef FORMAT1_SLOTS
#define CAS_STATE(old, new, ok) \
	atomic { if :: kc_state == old -> kc_state = new; ok = 1 :: else -> ok = 0 fi }
#else
#define CAS_WORD(old, new, ok) \
	atomic { if :: kc_word == old -> kc_word = new; ok = 1 :: else -> ok = 0 fi }
#endif

proctype Attacher(byte me)
{
	bit ok;
#ifdef FORMAT1_SLOTS
	byte st, p;

	st = kc_state;
	MAYDIE;
	if
	:: st == FREE || st == EVICTED -> skip	/* pass 1 */
	:: st == RELIABLE ->			/* pass 2: owner dead? */
		p = kc_pid;
		MAYDIE;
		if :: alive[p] -> goto out :: else fi
	:: else -> goto out			/* never a CLAIMED slot */
	fi;
	MAYDIE;
	atomic {
		CAS_STATE(st, CLAIMED, ok);
		if :: ok -> owns[me] = 1; cur_owner = me :: else fi
	};
	if :: !ok -> goto out :: else fi;
	printf("MSG: attacher %d: CAS state %d -> CLAIMED succeeds\n", me, st);
	MAYDIE;
	kc_pid = me;		/* register: pid, start, read_pos ... */
	MAYDIE;
	kc_state = RELIABLE;	/* R3 */
	printf("MSG: attacher %d registered: state RELIABLE, pid %d\n", me, me);
	MAYDIE;
	/* read for a while; an evicted consumer notices at check_end */
	if
	:: kc_state == EVICTED -> owns[me] = 0
	:: true
	fi;
	MAYDIE;
	/* close: CAS from the state seen, if the pid is still mine */
	st = kc_state;
	if
	:: (st == RELIABLE || st == EVICTED) && kc_pid == me ->
		atomic { CAS_STATE(st, FREE, ok); owns[me] = 0 }
	:: else -> owns[me] = 0
	fi
#else
	short w, mine, sg;
	byte start;

	w = kc_word;		/* acquire */
	MAYDIE;
	if
	:: ST(w) == FREE || ST(w) == EVICTED -> skip	/* pass 1 */
	:: ST(w) == RELIABLE ->				/* pass 2 */
		start = kc_start;
		if :: ALIVE(PID(w), start) -> goto out :: else fi
	:: ST(w) == CLAIMED ->
		/* its attacher died while claiming? kc_start is that claim's
		 * only if kc_start_gen == GEN(w); else only "no such pid" */
#ifdef START_BEFORE_GEN
		start = kc_start;
		printf("MSG: attacher %d: reads kc_start %d\n", me, start);
		sg = kc_start_gen;
#else
		sg = kc_start_gen;	/* acquire, pairs with T2 */
		start = kc_start;
#endif
		if
		:: sg == GEN(w) && ALIVE(PID(w), start) -> goto out
		:: sg != GEN(w) && alive[PID(w)] -> goto out
		:: else
		fi;
		printf("MSG: attacher %d: word %d (CLAIMED by pid %d, gen %d), read kc_start %d, kc_start_gen %d: owner judged dead\n", me, w, PID(w), GEN(w), start, sg)
	:: else -> goto out
	fi;
	MAYDIE;
	mine = W(CLAIMED, me, GEN(w) + 1);
	atomic {	/* T1 */
		CAS_WORD(w, mine, ok);
		if
		:: ok -> owns[me] = 1; cur_owner = me;
			/* a slot is taken over only from a dead owner */
			assert(ST(w) == FREE || ST(w) == EVICTED || !alive[PID(w)])
		:: else
		fi
	};
	if :: !ok -> goto out :: else fi;
	printf("MSG: attacher %d: CAS word %d -> %d succeeds\n", me, w, mine);
	MAYDIE;
	kc_start = 10 + me;
	printf("MSG: attacher %d: kc_start = %d\n", me, kc_start);
	MAYDIE;
	kc_start_gen = GEN(mine);	/* T2, release */
	printf("MSG: attacher %d: kc_start_gen = %d\n", me, kc_start_gen);
	MAYDIE;
	/* read_pos ...; R3: */
	w = W(RELIABLE, me, GEN(mine) + 1);
	CAS_WORD(mine, w, ok);
	if :: !ok -> owns[me] = 0; goto out :: else fi;
	printf("MSG: attacher %d registered: word %d\n", me, w);
	mine = w;
	MAYDIE;
	/* read for a while; an evicted consumer notices at check_end */
	if
	:: kc_word == W(EVICTED, me, GEN(mine) + 1) -> owns[me] = 0;
		mine = W(EVICTED, me, GEN(mine) + 1)
	:: true
	fi;
	MAYDIE;
	/* close: CAS from my exact word (RELIABLE|me|g or EVICTED|me|g+1) */
	atomic {
		CAS_WORD(mine, W(FREE, 0, GEN(mine) + 1), ok);
		if
		:: !ok && kc_word == W(EVICTED, me, GEN(mine) + 1) ->
			CAS_WORD(W(EVICTED, me, GEN(mine) + 1),
				 W(FREE, 0, GEN(mine) + 2), ok)
		:: else
		fi;
		owns[me] = 0
	}
#endif
out:
	skip
}

proctype Evictor()
{
	byte n;
	bit ok;
#ifdef FORMAT1_SLOTS
	byte st, p;
#else
	short w;
	byte start;
#endif
	do
	:: n < EVICT_TRIES ->
		n++;
#ifdef FORMAT1_SLOTS
		st = kc_state;
		if
		:: st == RELIABLE ->
			p = kc_pid;
			if
			:: !alive[p] ->
				printf("MSG: evictor: state RELIABLE, pid %d dead\n", p);
				atomic {
					CAS_STATE(RELIABLE, EVICTED, ok);
				printf("MSG: evictor: CAS RELIABLE -> EVICTED: %d; owner now pid %d, alive %d\n", ok, cur_owner, alive[cur_owner]);
					if :: ok -> assert(!alive[cur_owner]) :: else fi
				}
			:: else
			fi
		:: else
		fi
#else
		w = kc_word;		/* E1 */
		start = kc_start;
		if
		:: ST(w) == RELIABLE && !ALIVE(PID(w), start) ->
			printf("MSG: evictor: word %d: pid %d dead\n", w, PID(w));
			atomic {
				CAS_WORD(w, W(EVICTED, PID(w), GEN(w) + 1), ok);
				if :: ok -> assert(!alive[cur_owner]) :: else fi
			}
		:: else
		fi
#endif
	:: else -> break
	od
}

/* One owner per slot, checked in every reachable state. */
#ifndef NO_OWNER_CHECK
active proctype Monitor()
{
end:	atomic {
		(owns[1] && alive[1] && owns[2] && alive[2]) ->
		printf("MSG: attachers 1 and 2 both own the slot\n");
		assert(!(owns[1] && alive[1] && owns[2] && alive[2]))
	}
}
#endif

init
{
	atomic {
		alive[1] = 1;
		alive[2] = 1;
		run Attacher(1);
		run Attacher(2);
		run Evictor()
	}
}
