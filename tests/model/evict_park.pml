/*
 * evict_park.pml - the evictor's clearing of a dead consumer's parked bit
 * (U1 after E2, shm/producer.c qshm__evict_dead()) against a consumer that
 * takes the freed slot and parks on it (T1, W0, W1, W2), and the producer's
 * next commit (C1, C2, C3).
 *
 * One slot. Its first owner died parked: its word says RELIABLE, its bit is
 * set. The producer, which is the evictor, evicts it (E2: CAS from the dead
 * owner's exact word to EVICTED, generation + 1), clears the slot's bit
 * (U1), then commits one record: C1 (wp), then C2: a set bit is taken and
 * the futex word bumped (C3). Between any two of those steps a new
 * consumer may take the evicted slot (T1, a CAS), clear its bit as every
 * taker does, load the futex value (W0), set its bit (W1), look for the
 * record (W2) and sleep while the futex word holds the value it loaded.
 *
 * Without the re-check (NO_RECHECK, the code before library 0.4.1), U1 can
 * land after the new owner's W1: its bit is gone, C2 finds no bit, nobody
 * bumps the futex, and the new owner sleeps with a record waiting (in C
 * to the end of its 25 ms slice; a qshm_poll() or waiter with no timeout
 * until the ring's next wake-up): spin reports the blocked consumer as an
 * invalid end state. With it, the evictor loads the slot word after U1; a
 * word other than the one its E2 wrote means the slot changed hands, maybe
 * before a W1 that U1 erased, and the evictor bumps the futex word and
 * wakes every sleeper: one spurious wake-up, after which the new owner
 * announces itself again.
 *
 * Why the load after U1 sees the take: U1 and W1 are seq_cst RMWs of one
 * word, which only RMWs change; if U1 erased the bit W1 set, U1 read W1's
 * value (or a later RMW's in its release sequence), so W1 synchronizes
 * with U1, T1 (before W1 in the taker's program order) happens before U1
 * and the load after it, and by coherence that load sees T1's word or a
 * later one (each slot transition moves the generation, so E2's word does
 * not come back). The model runs every step atomically in one global
 * order; that is sound here because the argument above needs only
 * happens-before and coherence. The order of C1 against C2 (release store,
 * relaxed loads, the consumer's barrier) is wake.pml's subject, not this
 * model's. A wake-up that races the sleep is the futex rule: the wait
 * blocks only while the word still holds the value loaded at W0.
 */
#define RELIABLE_DEAD	1	/* the dead first owner's word */
#define EVICTED		2	/* E2's word: evicted, generation + 1 */
#define CLAIMED_NEW	3	/* T1's word: the new owner's */

byte word = RELIABLE_DEAD;
bit parked = 1;		/* the dead owner died parked */
byte wp;		/* records committed (C0 + C1) */
byte futex;		/* kw_data_futex */
bit got;		/* the new owner read the record */

proctype Producer()
{
	byte w;
	bit evicted;

	/* E2: from the exact word judged dead; fails if a taker of the dead
	 * owner's slot (pass 2) came first, and then the evictor leaves the
	 * slot alone */
	atomic {
		if
		:: word == RELIABLE_DEAD -> word = EVICTED; evicted = 1;
			printf("MSG: evictor: E2, slot evicted\n")
		:: else -> printf("MSG: evictor: E2 fails, the slot was taken\n")
		fi
	};
	if
	:: evicted ->
		/* U1: the dead owner's bit */
		atomic { parked = 0; printf("MSG: evictor: clears the slot's parked bit\n") };
#ifndef NO_RECHECK
		/* the slot changed hands since E2: maybe a bit erased */
		atomic { w = word; printf("MSG: evictor: loads the slot word, %d\n", w) };
		if
		:: w != EVICTED -> atomic { parked = 0; futex++; printf("MSG: evictor: slot taken meanwhile, takes the bits, bumps the futex\n") }
		:: else
		fi
#else
		skip
#endif
	:: else
	fi;
	/* C1 */
	atomic { wp = 1; printf("MSG: producer commits a record\n") };
	/* C2, C3: take the bits before the bump */
	atomic {
		if
		:: parked -> parked = 0; futex++;
			printf("MSG: producer: C2 finds a bit, wakes\n")
		:: else -> printf("MSG: producer: C2 finds no bit\n")
		fi
	}
}

proctype Taker()
{
	byte v;

	/* T1: pass 1 takes an evicted slot, pass 2 a dead owner's, each by
	 * CAS from the word seen */
	atomic { (word == EVICTED || word == RELIABLE_DEAD) -> word = CLAIMED_NEW;
		 printf("MSG: new consumer takes the slot\n") };
	/* a taker clears the previous owner's bit */
	atomic { parked = 0; printf("MSG: new consumer clears the slot's bit\n") };
	do
	:: wp > 0 -> got = 1; printf("MSG: new consumer reads the record\n"); break
	:: else ->
		atomic { v = futex; printf("MSG: new consumer loads futex %d\n", v) };	/* W0 */
		atomic { parked = 1; printf("MSG: new consumer sets its parked bit\n") };	/* W1 */
		if
		:: wp > 0 -> skip	/* W2: the record is there */
		:: else ->
			printf("MSG: new consumer sleeps\n");
			futex != v;	/* FUTEX_WAIT(v) */
			printf("MSG: new consumer woken\n")
		fi;
		atomic { parked = 0 }	/* U1: its own bit, after the wait */
	od
}

init {
	atomic { run Producer(); run Taker() }
}
