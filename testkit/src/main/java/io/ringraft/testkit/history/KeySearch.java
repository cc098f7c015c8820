package io.ringraft.testkit.history;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * The linearizability search over the ops of one key: Wing and Gong's backtracking search over a doubly linked
 * list of call and return entries sorted by time, with Lowe's cache of visited (linearized set, value) pairs.
 * <p>
 * Register values are interned to ints, 0 being absent. Op {@code i} has call entry {@code 2i} and, if it is
 * {@link Operation.Status#OK}, return entry {@code 2i + 1}; unknown ops have no return entry (it would lie at
 * +infinity, beyond the point where every ok op is linearized and the search has succeeded).
 * <p>
 * Two rules cut the choices without losing a linearization, each because some choice dominates the others:
 * an ok op that leaves the value unchanged is linearized as soon as it can be (see {@link #isRead}), and an ok
 * write of a value nothing reads is placed only just before another write (see {@link #unread}).
 */
final class KeySearch
{
    private static final int ABSENT = 0;
    private static final int INVALID = -1;
    private static final int NIL = -1;
    private static final int SHOWN_PREFIX = 12;
    private static final int SHOWN_CANDIDATES = 8;

    private static final byte WRITE = 0;
    private static final byte READ = 1;
    private static final byte CAS_SWAPPED = 2;
    private static final byte CAS_REFUSED = 3;
    private static final byte CAS_MAYBE = 4;

    private final String key;
    private final int recorded;
    private final Operation[] ops;
    private final byte[] behaviour;
    private final boolean[] known;
    private final int[] read;
    private final int[] write;
    private final boolean[] blind;
    /**
     * Ok blind writes (PUT, DELETE) that no op can observe (see {@link Observers}). Nothing but another
     * blind write can follow such a write, so it can always sit just before that write, where it changes nothing.
     * The search therefore places it alone only when its completion is the next one due, and otherwise absorbs
     * it into any blind write it is concurrent with, which leaves fewer ops pending at the same value.
     */
    private final boolean[] unread;
    private final List<String> values;
    private final int knownCount;
    private final int[] next;
    private final int[] prev;
    private final int head;
    private final long[] zobrist;

    private int bestDepth = -1;
    private int[] bestPrefix;
    private int bestValue;
    private int bestBlocked;
    private int[] bestCandidates;

    private KeySearch(
        final String key,
        final int recorded,
        final List<Operation> kept,
        final boolean[] unobserved)
    {
        this.key = key;
        this.recorded = recorded;
        final int n = kept.size();
        ops = kept.toArray(new Operation[0]);
        behaviour = new byte[n];
        known = new boolean[n];
        read = new int[n];
        write = new int[n];
        blind = new boolean[n];
        unread = new boolean[n];
        values = new ArrayList<>();
        values.add(null);
        final Map<String, Integer> ids = new HashMap<>();
        int knownOps = 0;
        for (int i = 0; i < n; i++)
        {
            final Operation op = ops[i];
            known[i] = op.status() == Operation.Status.OK;
            knownOps += known[i] ? 1 : 0;
            switch (op.kind())
            {
                case PUT ->
                {
                    behaviour[i] = WRITE;
                    write[i] = intern(op.value(), ids);
                    blind[i] = true;
                    unread[i] = unobserved[i];
                }
                case DELETE ->
                {
                    behaviour[i] = WRITE;
                    write[i] = ABSENT;
                    blind[i] = true;
                    unread[i] = unobserved[i];
                }
                case GET ->
                {
                    behaviour[i] = READ;
                    read[i] = intern(op.result(), ids);
                }
                case CAS ->
                {
                    behaviour[i] = !known[i] ? CAS_MAYBE :
                        Operation.CAS_TRUE.equals(op.result()) ? CAS_SWAPPED : CAS_REFUSED;
                    read[i] = intern(op.expected(), ids);
                    write[i] = intern(op.value(), ids);
                }
                default -> throw new IllegalStateException("unhandled kind " + op.kind());
            }
        }
        knownCount = knownOps;

        final Integer[] entries = new Integer[2 * n];
        int count = 0;
        for (int i = 0; i < n; i++)
        {
            entries[count++] = 2 * i;
            if (known[i])
            {
                entries[count++] = 2 * i + 1;
            }
        }
        final Integer[] sorted = Arrays.copyOf(entries, count);
        // Calls sort before returns at equal times: an op invoked when another completes overlaps it.
        Arrays.sort(sorted, (a, b) ->
        {
            final int byTime = Long.compare(time(a), time(b));
            return byTime != 0 ? byTime : Integer.compare((a & 1) * 2 * n + (a >>> 1), (b & 1) * 2 * n + (b >>> 1));
        });
        head = 2 * n;
        next = new int[2 * n + 1];
        prev = new int[2 * n + 1];
        Arrays.fill(next, NIL);
        Arrays.fill(prev, NIL);
        int last = head;
        for (final int entry : sorted)
        {
            next[last] = entry;
            prev[entry] = last;
            last = entry;
        }

        zobrist = new long[n];
        final SplittableRandom random = new SplittableRandom(0x5EED_1234_ABCDL);
        for (int i = 0; i < n; i++)
        {
            zobrist[i] = random.nextLong();
        }
    }

    /**
     * Prepares the search over one key's ops. Drops what cannot constrain the verdict: failed ops, reads of
     * unknown outcome, and unknown writes nothing can depend on (see {@link Observers}): whenever a
     * linearization places such a write, the same order without it is one too.
     */
    static KeySearch of(final String key, final List<Operation> keyOps)
    {
        final Observers observers = new Observers(keyOps);
        final List<Operation> kept = new ArrayList<>(keyOps.size());
        final boolean[] unobserved = new boolean[keyOps.size()];
        for (final Operation op : keyOps)
        {
            final boolean ok = op.status() == Operation.Status.OK;
            final boolean ignored = op.status() == Operation.Status.FAIL || !ok && op.kind() == OpKind.GET;
            if (!ignored)
            {
                final boolean writeUnobserved = observers.cannotObserve(op);
                if (ok || !writeUnobserved)
                {
                    unobserved[kept.size()] = ok && writeUnobserved && op.kind() != OpKind.CAS;
                    kept.add(op);
                }
            }
        }
        return new KeySearch(key, keyOps.size(), kept, unobserved);
    }

    /**
     * Decides which writes no op can observe. A write is unobserved if no op reads the value it writes (no ok GET
     * returned it, no CAS but a refused one expected it) and no ok refused CAS can take effect while its value is
     * current: such a CAS would have to complete after the write's invocation and be invoked before some ok write
     * that must follow the write completes. Then, in any linearization, only a blind write (PUT, DELETE) or
     * nothing can follow the write, so it never influences another op.
     */
    private static final class Observers
    {
        private final Set<String> observed = new HashSet<>();
        private final long[] writeInvokes;
        private final long[] laterWriteCompletes;
        private final long[] refusalInvokes;
        private final long[] refusalCompletes;

        Observers(final List<Operation> keyOps)
        {
            final List<Operation> writes = new ArrayList<>();
            final List<Operation> refusals = new ArrayList<>();
            for (final Operation op : keyOps)
            {
                if (op.status() != Operation.Status.OK)
                {
                    if (op.kind() == OpKind.CAS && op.status() != Operation.Status.FAIL)
                    {
                        observed.add(op.expected());
                    }
                }
                else if (op.kind() == OpKind.GET)
                {
                    observed.add(op.result());
                }
                else if (op.kind() == OpKind.CAS && Operation.CAS_FALSE.equals(op.result()))
                {
                    refusals.add(op);
                }
                else
                {
                    if (op.kind() == OpKind.CAS)
                    {
                        observed.add(op.expected());
                    }
                    writes.add(op);
                }
            }

            writes.sort((a, b) -> Long.compare(a.invokeTime(), b.invokeTime()));
            writeInvokes = new long[writes.size()];
            laterWriteCompletes = new long[writes.size() + 1];
            laterWriteCompletes[writes.size()] = Long.MAX_VALUE;
            for (int i = writes.size() - 1; i >= 0; i--)
            {
                writeInvokes[i] = writes.get(i).invokeTime();
                laterWriteCompletes[i] = Math.min(laterWriteCompletes[i + 1], writes.get(i).completeTime());
            }

            refusals.sort((a, b) -> Long.compare(a.invokeTime(), b.invokeTime()));
            refusalInvokes = new long[refusals.size()];
            refusalCompletes = new long[refusals.size()];
            long latest = Long.MIN_VALUE;
            for (int i = 0; i < refusals.size(); i++)
            {
                refusalInvokes[i] = refusals.get(i).invokeTime();
                latest = Math.max(latest, refusals.get(i).completeTime());
                refusalCompletes[i] = latest;
            }
        }

        boolean cannotObserve(final Operation op)
        {
            if (op.kind() == OpKind.GET || observed.contains(op.kind() == OpKind.DELETE ? null : op.value()))
            {
                return false;
            }
            // The first ok write invoked after this one completed bounds how long this one's value can last.
            final long horizon = op.completeTime() == Long.MAX_VALUE ?
                Long.MAX_VALUE : laterWriteCompletes[countAtMost(writeInvokes, op.completeTime())];
            final int candidates = countAtMost(refusalInvokes, horizon);
            return candidates == 0 || refusalCompletes[candidates - 1] < op.invokeTime();
        }

        /** @return how many of the sorted times are {@code <= limit} */
        private static int countAtMost(final long[] sortedTimes, final long limit)
        {
            int low = 0;
            int high = sortedTimes.length;
            while (low < high)
            {
                final int mid = (low + high) >>> 1;
                if (sortedTimes[mid] <= limit)
                {
                    low = mid + 1;
                }
                else
                {
                    high = mid;
                }
            }
            return low;
        }
    }

    /**
     * @param budget the most steps to take
     * @return the verdict for this key
     */
    CheckResult run(final long budget)
    {
        if (knownCount == 0)
        {
            return new CheckResult(CheckResult.Outcome.LINEARIZABLE, null, "no ok ops on key " + Operation.show(key));
        }
        final int n = ops.length;
        final long[] bits = new long[(n + 63) >>> 6];
        final HashSet<Visited> visited = new HashSet<>();
        final int[] stackOp = new int[n];
        final int[] stackValue = new int[n];
        final boolean[] stackAbsorbed = new boolean[n];
        final int[] absorbed = new int[n];
        int depth = 0;
        int value = ABSENT;
        long hash = 0;
        int remaining = knownCount;
        long steps = 0;
        int entry = next[head];
        while (true)
        {
            if (++steps > budget)
            {
                return undecided(budget, visited.size());
            }
            if ((entry & 1) == 0)
            {
                final int op = entry >>> 1;
                final int newValue = unread[op] && !isNextReturn(entry, 2 * op + 1) ? INVALID : apply(op, value);
                if (newValue == INVALID)
                {
                    entry = next[entry];
                    continue;
                }
                int absorbedCount = 0;
                if (blind[op])
                {
                    for (int e = next[head]; e != NIL && (e & 1) == 0; e = next[e])
                    {
                        final int other = e >>> 1;
                        if (unread[other] && other != op)
                        {
                            absorbed[absorbedCount++] = other;
                        }
                    }
                }
                if (!known[op] && newValue == value && absorbedCount == 0)
                {
                    // Taking effect changes nothing here: leaving the unknown op out is as good.
                    entry = next[entry];
                    continue;
                }
                long newHash = hash ^ zobrist[op];
                bits[op >>> 6] |= 1L << op;
                for (int i = 0; i < absorbedCount; i++)
                {
                    final int other = absorbed[i];
                    newHash ^= zobrist[other];
                    bits[other >>> 6] |= 1L << other;
                }
                if (visited.add(new Visited(trimmedCopy(bits), newValue, newHash)))
                {
                    for (int i = 0; i < absorbedCount; i++)
                    {
                        final int other = absorbed[i];
                        stackOp[depth] = other;
                        stackValue[depth] = value;
                        stackAbsorbed[depth] = true;
                        depth++;
                        lift(other);
                        remaining--;
                    }
                    stackOp[depth] = op;
                    stackValue[depth] = value;
                    stackAbsorbed[depth] = false;
                    depth++;
                    value = newValue;
                    hash = newHash;
                    lift(op);
                    remaining -= known[op] ? 1 : 0;
                    if (remaining == 0)
                    {
                        return new CheckResult(CheckResult.Outcome.LINEARIZABLE, null,
                            "key " + Operation.show(key) + " linearizable in " + steps + " steps");
                    }
                    entry = next[head];
                    continue;
                }
                bits[op >>> 6] &= ~(1L << op);
                for (int i = 0; i < absorbedCount; i++)
                {
                    bits[absorbed[i] >>> 6] &= ~(1L << absorbed[i]);
                }
                if (!isRead(op))
                {
                    entry = next[entry];
                    continue;
                }
                // Reading now dominates every alternative here (see isRead), and reading now is known to fail.
            }
            else
            {
                // An ok op's completion comes before it was linearized: a dead end.
                recordDeadEnd(entry >>> 1, depth, value, stackOp);
            }

            int op;
            do
            {
                if (depth == 0)
                {
                    return notLinearizable(steps);
                }
                depth--;
                op = stackOp[depth];
                value = stackValue[depth];
                hash ^= zobrist[op];
                bits[op >>> 6] &= ~(1L << op);
                unlift(op);
                remaining += known[op] ? 1 : 0;
                while (depth > 0 && stackAbsorbed[depth - 1])
                {
                    depth--;
                    final int other = stackOp[depth];
                    hash ^= zobrist[other];
                    bits[other >>> 6] &= ~(1L << other);
                    unlift(other);
                    remaining++;
                }
            }
            while (isRead(op));
            entry = next[2 * op];
        }
    }

    /**
     * An ok op that leaves the value as it is (a GET, a refused CAS) and can be linearized now should be: any
     * order that places it later stays valid with it moved here, since the ops it would jump over keep their
     * values, and none of them completed before it was invoked (its call precedes every pending return).
     * So the search never tries alternatives to linearizing such an op.
     */
    private boolean isRead(final int op)
    {
        return behaviour[op] == READ || behaviour[op] == CAS_REFUSED;
    }

    /**
     * Ops are numbered in history order, so the high words of the set are zero until late in the search: storing
     * the set without them roughly halves the memory the visited cache needs.
     */
    private static long[] trimmedCopy(final long[] bits)
    {
        int length = bits.length;
        while (length > 0 && bits[length - 1] == 0)
        {
            length--;
        }
        return Arrays.copyOf(bits, length);
    }

    /**
     * @return true if the first return entry after {@code call} is {@code ret}: no other pending op must take
     * effect before the op of {@code ret} does
     */
    private boolean isNextReturn(final int call, final int ret)
    {
        int e = next[call];
        while (e != NIL && (e & 1) == 0)
        {
            e = next[e];
        }
        return e == ret;
    }

    private int apply(final int op, final int value)
    {
        return switch (behaviour[op])
        {
            case WRITE -> write[op];
            case READ -> read[op] == value ? value : INVALID;
            case CAS_SWAPPED -> read[op] == value ? write[op] : INVALID;
            case CAS_REFUSED -> read[op] != value ? value : INVALID;
            case CAS_MAYBE -> read[op] == value ? write[op] : INVALID;
            default -> throw new IllegalStateException("behaviour " + behaviour[op]);
        };
    }

    private void lift(final int op)
    {
        unlink(2 * op);
        if (known[op])
        {
            unlink(2 * op + 1);
        }
    }

    private void unlift(final int op)
    {
        if (known[op])
        {
            relink(2 * op + 1);
        }
        relink(2 * op);
    }

    private void unlink(final int entry)
    {
        next[prev[entry]] = next[entry];
        if (next[entry] != NIL)
        {
            prev[next[entry]] = prev[entry];
        }
    }

    private void relink(final int entry)
    {
        next[prev[entry]] = entry;
        if (next[entry] != NIL)
        {
            prev[next[entry]] = entry;
        }
    }

    private long time(final int entry)
    {
        final Operation op = ops[entry >>> 1];
        return (entry & 1) == 0 ? op.invokeTime() : op.completeTime();
    }

    private void recordDeadEnd(final int blocked, final int depth, final int value, final int[] stackOp)
    {
        if (depth <= bestDepth)
        {
            return;
        }
        bestDepth = depth;
        bestPrefix = Arrays.copyOf(stackOp, depth);
        bestValue = value;
        bestBlocked = blocked;
        final int[] candidates = new int[SHOWN_CANDIDATES];
        int count = 0;
        for (int e = next[head]; e != 2 * blocked + 1 && count < SHOWN_CANDIDATES; e = next[e])
        {
            if ((e & 1) == 0)
            {
                candidates[count++] = e >>> 1;
            }
        }
        bestCandidates = Arrays.copyOf(candidates, count);
    }

    private CheckResult notLinearizable(final long steps)
    {
        final StringBuilder sb = new StringBuilder(1024);
        sb.append("key ").append(Operation.show(key)).append(" has no linearization of its ").append(ops.length)
            .append(" relevant ops (").append(knownCount).append(" ok; ").append(recorded - ops.length)
            .append(" failed or unconstraining ops dropped; ").append(steps).append(" steps).");
        sb.append("\nLongest linearizable prefix: ").append(bestDepth).append(" ops, leaving the value ")
            .append(Operation.show(values.get(bestValue))).append(':');
        if (bestDepth > SHOWN_PREFIX)
        {
            sb.append("\n  ... ").append(bestDepth - SHOWN_PREFIX).append(" earlier ops");
        }
        for (int i = Math.max(0, bestDepth - SHOWN_PREFIX); i < bestDepth; i++)
        {
            sb.append("\n  ").append(ops[bestPrefix[i]]);
        }
        final Operation blocked = ops[bestBlocked];
        sb.append("\nCould not place ").append(blocked).append(": it must take effect by ")
            .append(blocked.completeTime()).append(", but no op that may come next leads to a valid order.");
        sb.append("\nOps that may come next:");
        for (final int op : bestCandidates)
        {
            sb.append("\n  ").append(ops[op]);
        }
        return new CheckResult(CheckResult.Outcome.NOT_LINEARIZABLE, key, sb.toString());
    }

    private CheckResult undecided(final long budget, final int visitedCount)
    {
        return new CheckResult(CheckResult.Outcome.UNDECIDED, key,
            "key " + Operation.show(key) + ": search budget of " + budget + " steps exhausted over " + ops.length +
            " relevant ops (" + knownCount + " ok) after visiting " + visitedCount + " states; deepest dead end at " +
            Math.max(0, bestDepth) + " linearized ops");
    }

    private int intern(final String value, final Map<String, Integer> ids)
    {
        if (value == null)
        {
            return ABSENT;
        }
        final Integer id = ids.get(value);
        if (id != null)
        {
            return id;
        }
        values.add(value);
        ids.put(value, values.size() - 1);
        return values.size() - 1;
    }

    /**
     * A visited search state: which ops are linearized and the register value they leave.
     */
    private static final class Visited
    {
        private final long[] bits;
        private final int value;
        private final int hash;

        Visited(final long[] bits, final int value, final long setHash)
        {
            this.bits = bits;
            this.value = value;
            final long mixed = setHash ^ (value * 0x9E37_79B9_7F4A_7C15L);
            final long spread = (mixed ^ (mixed >>> 33)) * 0xFF51_AFD7_ED55_8CCDL;
            this.hash = (int)(spread ^ (spread >>> 32));
        }

        @Override
        public int hashCode()
        {
            return hash;
        }

        @Override
        public boolean equals(final Object other)
        {
            return other instanceof Visited v && v.hash == hash && v.value == value && Arrays.equals(v.bits, bits);
        }
    }
}
