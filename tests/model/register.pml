/*
 * register.pml - a reliable consumer registering while the producer runs
 * (R3 state, R4 epoch, R5 head re-check) against the producer's head move
 * and epoch check (P1, P2) and its cached slowest position.
 *
 * Records are one unit each, at positions 0, 1, ...; the ring holds CAP of
 * them, so writing record k overwrites position k - CAP. The consumer starts
 * at the head (the oldest record), registers, then reads and releases every
 * record up to the last. The property: it never reads a position whose
 * record has been overwritten (the producer never overtakes a registered
 * reliable consumer). Sequential consistency stands for the seq_cst
 * operations P1, P2, R3, R4, R5.
 *
 * Switches: NO_P2 (the producer does not check the epoch after P1), NO_R5
 * (the consumer does not re-check the head after R4). Spin finds the
 * overwritten read with either.
 */
#ifndef CAP
#define CAP 2
#endif
#ifndef NP
#define NP 5
#endif
#define NONE 255

byte head;		/* kp_head_pos */
byte wp;		/* kp_write_pos */
byte top;		/* records written: position p is overwritten once top > p + CAP */
byte epoch;		/* kp_epoch */
byte rp = NONE;		/* kc_read_pos */
bit reg;		/* R3 done: the slot is RELIABLE, the producer's scans see it */

#define SCAN	(reg -> rp : NONE)

proctype Producer()
{
	byte k, need, cached = NONE, seen;

	do
	:: k < NP ->
		need = (k >= CAP -> k - CAP + 1 : 0);
		/* make_room: wait for the slowest reliable consumer, move the
		 * head (P1), check for new registrations (P2) */
		do
		:: cached < need ->
			cached = SCAN;
			if
			:: cached < need -> (SCAN >= need); cached = SCAN
			:: else
			fi
		:: cached >= need && head >= need -> break
		:: cached >= need && head < need ->
			head = need;		/* P1 */
			printf("MSG: producer: P1 head = %d (cached slowest %d)\n", head, cached);
#ifndef NO_P2
			if			/* P2 */
			:: epoch != seen -> seen = epoch; cached = SCAN
			:: else
			fi
#endif
		od;
		top = k + 1;		/* claim: overwrites position k - CAP */
		printf("MSG: producer writes record %d (over position %d)\n", k, k - CAP);
		wp = k + 1;		/* commit */
		k++
	:: else -> break
	od
}

proctype Consumer()
{
	byte r, h;

	r = head;			/* start at the oldest record */
	printf("MSG: consumer starts at the head, %d\n", r);
	rp = r;
	reg = 1;			/* R3 */
	epoch++;			/* R4 */
	printf("MSG: consumer registered (R3), epoch++ (R4)\n");
#ifndef NO_R5
	h = head;			/* R5 */
	if :: h > r -> r = h; rp = r :: else fi;
#endif
	do
	:: r < NP ->
		(wp > r);
		printf("MSG: consumer reads position %d; records written %d\n", r, top);
		assert(top <= r + CAP);	/* not overwritten */
		r++;
		rp = r			/* R1 */
	:: else -> break
	od
}

init
{
	atomic {
		run Producer();
		run Consumer()
	}
}
