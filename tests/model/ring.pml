/*
 * ring.pml - the format 2 data path: claim (pad, room check, head, mark-next),
 * payload stores, commit (commit words in order, then kp_write_pos), reliable
 * consumers on the commit-word fast path (A4) with release (R1) and
 * back-pressure, and a lossy consumer with head validation (V1/V2).
 *
 * The ring: NG granules of 16 bytes (the record alignment); granule g holds
 * two 8-byte words, lo[g] (a record header, or payload) and hi[g] (the commit
 * word of a record starting at g, or payload). Positions are free-running
 * granule counts; offset = pos % NG. A record of seq s is sz granules: its
 * header granule (header word, commit word) and sz-1 payload granules. A
 * record that does not fit before the end is preceded by a pad filling it.
 *
 * Word values: what matters about a word is who wrote it and whether a
 * consumer would take it for the commit word it expects:
 *   ZERO      the data area as created
 *   MARK      ~key, the encoding of seq 2^64-1: matches no record
 *   CW(s)     s ^ key, stored by the commit of record s (or of the pad
 *             before s)
 *   PAY(s)    payload of record s: ANY value. A consumer comparing it with
 *             the commit word it expects may find it equal or not (both are
 *             explored, at every read): this covers payloads holding a
 *             future record's commit word, old commit words partly
 *             overwritten by a payload, every byte pattern.
 *   HDR(s)    header of record s (its length and type); PADH(s) a pad
 *             header before record s.
 * Ghost state (never read by the modelled code, only by assertions):
 * where each record and pad lies, and whether its commit word was stored.
 *
 * Memory model: every statement is atomic, all processes interleave in one
 * order (sequential consistency). See docs/model.md for what this covers.
 *
 * Switches (spin -D...):
 *   NO_MARK   format 1 publication: no MARK at create or at claim, and the
 *             room check does not reserve the next header's granule.
 *   NO_PAD_MARK  a pad does not MARK the commit word at offset 0 of the next
 *             lap, where the record after it starts (the first format 2 design;
 *             sound too: offset 0 always starts a record, so that word holds
 *             an older record's commit word).
 *   NO_RESERVE  mark-next kept, but the room check does not reserve the
 *             granule that receives the MARK.
 *   NR=n      reliable consumers (default 1), LOSSY=0/1 (default 1)
 *   NG=n      ring size in granules (default 8), NREC records (default 5)
 *   BATCH=n   most records claimed per commit (default 2)
 */
#ifndef NG
#define NG 8
#endif
#ifndef NREC
#define NREC 5
#endif
#ifndef NR
#define NR 1
#endif
#ifndef LOSSY
#define LOSSY 1
#endif
#ifndef BATCH
#define BATCH 2
#endif

#define ZERO	0
#define MARK	1
#define CW(s)	(16 + (s))
#define PAY(s)	(32 + (s))
#define HDR(s)	(64 + (s))
#define PADH(s)	(96 + (s))
#define ISPAY(x)	((x) >= 32 && (x) < 64)
#define ISCW(x)		((x) >= 16 && (x) < 32)
#define ISPADH(x)	((x) >= 96)
#define NONE	255

byte lo[NG];
byte hi[NG];
byte wp;		/* kp_write_pos */
byte head;		/* kp_head_pos */
byte rp[NR + 1];	/* kc_read_pos of the reliable consumers */

/* ghost */
byte rpos[NREC];	/* where record s starts (NONE: not claimed) */
byte rsz[NREC];		/* its size in granules */
byte ppos[NREC];	/* where the pad before record s starts, or NONE */
byte psz[NREC];
bit cdone[NREC];	/* record s's commit word stored */
bit pdone[NREC];	/* the commit word of the pad before s stored */

/* The word at pos is the commit word the producer stored for record s, or
 * for the pad before it. */
#define GENUINE(s, pos) \
	((rpos[s] == (pos) && cdone[s]) || (ppos[s] == (pos) && pdone[s]))

#if NR == 0
#define MINRP	255
#elif NR == 1
#define MINRP	rp[0]
#else
#define MINRP	(rp[0] < rp[1] -> rp[0] : rp[1])
#endif

/* C0 for every claimed record in order, then C1. */
inline commit()
{
	do
	:: cs < s ->
		if
		:: ppos[cs] != NONE ->
			atomic { hi[ppos[cs] % NG] = CW(cs); pdone[cs] = 1 }
		:: else
		fi;
		atomic { hi[rpos[cs] % NG] = CW(cs); cdone[cs] = 1 };
		printf("MSG: producer commits record %d at %d\n", cs, rpos[cs]);
		cs++
	:: else -> break
	od;
	committed = w;
	wp = committed;		/* C1 */
	batch = 0
}

proctype Producer()
{
	byte s, cs, w, committed, batch;
	byte sz, pad, st, end, need, h, k;

	do
	:: s < NREC ->
		/* claim record s */
		if :: sz = 2 :: sz = 3 fi;
		d_step {
			pad = ((w % NG) + sz > NG -> NG - (w % NG) : 0);
			st = w + pad;
			end = st + sz;
#if defined(NO_MARK) || defined(NO_RESERVE)
			need = (end > NG -> end - NG : 0)
#else
			/* + the next record's header granule: its commit
			 * word gets the MARK */
			need = (end + 1 > NG -> end + 1 - NG : 0)
#endif
		};
		/* bytes to reuse must be committed: commit the batch first */
		if :: need > committed -> commit() :: else fi;
		/* back-pressure (A1/R1): wait for the reliable consumers */
		(MINRP >= need);
		/* P1: the head past every old record below need */
		d_step {
			h = head;
			do
			:: h < need ->
				k = lo[h % NG];
				assert(k >= 64);
				if
				:: ISPADH(k) -> h = h + psz[k - 96]
				:: else -> h = h + rsz[k - 64]
				fi
			:: else -> break
			od;
			k = 0
		};
		head = h;	/* P1, then the release fence */
		printf("MSG: producer claims record %d: pos %d, %d granules (pad %d); head %d\n", s, st, sz, pad, h);
#ifndef NO_MARK
		/* the claim frontier always holds MARK */
		assert(hi[w % NG] == MARK);
#endif
		if
		:: pad > 0 ->
			atomic { lo[w % NG] = PADH(s); ppos[s] = w; psz[s] = pad };
#if !defined(NO_MARK) && !defined(NO_PAD_MARK)
			hi[st % NG] = MARK	/* K1 where the next lap starts */
#else
			skip
#endif
		:: else
		fi;
		atomic { lo[st % NG] = HDR(s); rpos[s] = st; rsz[s] = sz };
#ifndef NO_MARK
		hi[end % NG] = MARK;	/* K1: mark next */
#endif
		/* the application writes the payload */
		k = st + 1;
		do
		:: k < end -> atomic { lo[k % NG] = PAY(s); hi[k % NG] = PAY(s) }; k++
		:: else -> break
		od;
		atomic { w = end; s++; batch++; k = 0; pad = 0; st = 0; end = 0; need = 0; h = 0; sz = 0 };
		if
		:: commit()
		:: batch < BATCH && s < NREC	/* claim more first */
		fi
	:: else -> break
	od;
	commit()
}

proctype Reliable(byte me)
{
	byte pos, e, x, hd, k, sz;

	do
	:: e == NREC -> break
	:: else ->
again:		/* A4: acquire-load the commit word e would have */
		atomic {
			(hi[pos % NG] == CW(e) || ISPAY(hi[pos % NG]));
			x = hi[pos % NG]
		};
		if
		:: ISPAY(x) -> x = 0; goto again	/* a payload that differs */
		:: true					/* equal */
		fi;
		printf("MSG: reliable %d: word at pos %d (offset %d) matches record %d (word %d)\n", me, pos, pos % NG, e, x);
		/* the property: the producer stored that word for e here */
		assert(GENUINE(e, pos));
		hd = lo[pos % NG];
		if
		:: hd == PADH(e) ->
			pos = pos + psz[e];
			assert(pos % NG == 0)
		:: hd == HDR(e) ->
			sz = rsz[e];
			k = 1;
			do
			:: k < sz ->
				assert(lo[(pos + k) % NG] == PAY(e));
				assert(hi[(pos + k) % NG] == PAY(e));
				k++
			:: else -> break
			od;
			atomic { pos = pos + sz; e++; k = 0; sz = 0 };
			rp[me] = pos	/* R1: release */
		:: else -> assert(false)	/* not e's header */
		fi;
		d_step { x = 0; hd = 0 }
	od
}

proctype Lossy()
{
	byte pos, e, x, hd, s, k, sz, delivered, lost;
	bit known = 1, torn;

	do
	:: e == NREC -> break
	:: else ->
		if
		:: known ->
again:			/* A4, or notice the head passed pos */
			atomic {
				(hi[pos % NG] == CW(e) || ISPAY(hi[pos % NG]) ||
				 head > pos);
				x = hi[pos % NG]
			};
			if
			:: head > pos -> goto resync
			:: ISPAY(x) -> x = 0; goto again
			:: x == CW(e) || ISPAY(x) -> s = e
			fi
		:: else ->
			/* A2: kp_write_pos, then the commit word gives the seq */
			(wp > pos || head > pos);
			if
			:: head > pos -> goto resync
			:: else
			fi;
			x = hi[pos % NG];
			if
			:: ISCW(x) -> s = x - 16
			:: ISPAY(x) ->	/* any value: any seq from e on */
				s = e;
				do
				:: s < NREC - 1 -> s++
				:: break
				od
			:: else -> s = NONE
			fi
		fi;
		hd = lo[pos % NG];
		/* V1: acquire fence, load the head */
		if
		:: head > pos -> goto resync
		:: else
		fi;
		printf("MSG: lossy: word %d at pos %d taken for record %d; head %d\n", x, pos, s, head);
		/* validated: commit word and header are the published ones */
		assert(s != NONE && GENUINE(s, pos));
		if
		:: hd == PADH(s) -> pos = pos + psz[s]
		:: hd == HDR(s) ->
			assert(s >= e);
			sz = rsz[s];
			k = 1;
			do
			:: k < sz ->
				torn = torn || lo[(pos + k) % NG] != PAY(s);
				torn = torn || hi[(pos + k) % NG] != PAY(s);
				k++
			:: else -> break
			od;
			/* V2 */
			if
			:: head > pos -> lost = lost + s - e + 1
			:: else ->
				assert(!torn);
				delivered++;
				lost = lost + s - e
			fi;
			atomic { e = s + 1; known = 1; pos = pos + sz; k = 0; sz = 0; torn = 0 }
		:: else -> assert(false)
		fi;
		goto next;
resync:		/* the oldest intact record; its seq is not known yet */
		if
		:: head > pos -> pos = head; known = 0
		:: else
		fi;
next:		skip;
		d_step { x = 0; hd = 0; s = 0 }
	od;
	assert(delivered + lost == NREC)
}

init
{
	byte i;
	atomic {
		i = 0;
		do
		:: i < NREC -> rpos[i] = NONE; ppos[i] = NONE; i++
		:: else -> break
		od;
#ifndef NO_MARK
		hi[0] = MARK;	/* create: the commit word of position 0 */
#endif
		i = 0;
		do
		:: i < NR -> run Reliable(i); i++
		:: else -> break
		od;
#if LOSSY
		run Lossy();
#endif
		run Producer()
	}
}
