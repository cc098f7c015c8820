package io.ringraft.nemesis;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * The faults of a run, drawn from one seed before the run starts: when each begins, how long it
 * lasts, its kind and shape, and a number that picks its nodes. The same seed, duration, node count
 * and fault kinds give the same schedule; a fault aimed at "the leader" hits whichever node leads
 * when it begins, so that part depends on the run.
 */
final class FaultSchedule
{
    /** The kinds of fault. */
    enum Kind
    {
        /** SIGKILL a node, restart it on its data when the fault ends. */
        KILL,
        /** SIGSTOP a node, SIGCONT when the fault ends. */
        PAUSE,
        /** Cut links between nodes (several shapes), heal when the fault ends. */
        PARTITION,
        /** Drop a share of all packets between nodes at random. */
        LOSS,
        /** Delay every packet between nodes with jitter (reordering them) and duplicate a share, through the relay. */
        DELAY,
        /**
         * Replace a member through the admin path: remove it, kill it and empty its disk; at the heal it
         * starts as a new node that joins, is added as a learner and promoted to voter.
         */
        MEMBERSHIP,
        /**
         * The outside test's slow election: every link slow and lossy through the relay ({@link #SLOW_LOSSY}),
         * then the leader killed; lasts {@link #ELECTION_WINDOW_MS}, in which the terms and the time to a
         * stable leader are measured; then the links heal and the node restarts.
         */
        ELECTION,
        /**
         * A slow disk: one node's (or the leader's) log syncs each wait longer (a delay drawn from
         * {@link #SLOW_DISK_MS}), through the node's {@code storage.sync.delay.file}; normal again when the fault ends.
         */
        SLOW_DISK
    }

    /** The extra delays before every log sync a SLOW_DISK fault draws from, in milliseconds. */
    static final long[] SLOW_DISK_MS = {100, 250, 500};

    /** An ELECTION fault's links: 145 ± 60 ms one way, 22 % of the packets lost. */
    static final DelayRelay.Impairment SLOW_LOSSY = new DelayRelay.Impairment(145, 60, 22, 0);

    /** How long an ELECTION fault lasts: the outside test watched 12 s. */
    static final long ELECTION_WINDOW_MS = 12_000;

    /**
     * One fault.
     *
     * @param atMs         when it begins, from the start of the workload
     * @param durationMs   how long it lasts
     * @param kind         its kind
     * @param shape        for a partition: majority-minority, isolate-leader, bridge or one-way; for
     *                     a kill or pause: leader or node; for loss: the percentage; for a slow disk: leader
     *                     or node and the delay, e.g. {@code leader 250ms}
     * @param pick         chooses the nodes it hits
     */
    record Fault(long atMs, long durationMs, Kind kind, String shape, long pick)
    {
        /** @return e.g. {@code 12.3 s +4.0 s PARTITION isolate-leader} */
        @Override
        public String toString()
        {
            return String.format(Locale.ROOT, "%6.1f s +%.1f s %s %s", atMs / 1000.0, durationMs / 1000.0, kind, shape);
        }
    }

    /** The random loss of a LOSS fault, in percent. */
    static final int LOSS_PERCENT = 22;

    /** What a DELAY fault does to every packet between nodes: the slow links of the outside test, and some duplicates. */
    static final DelayRelay.Impairment DELAY = new DelayRelay.Impairment(145, 60, 0, 5);

    private FaultSchedule()
    {
    }

    /**
     * Draws the faults of a run with the default lengths, 2–5 s.
     *
     * @see #generate(long, long, long, int, Set, long, long)
     */
    static List<Fault> generate(final long seed, final long durationMs, final long settleMs, final int nodes, final Set<Kind> kinds)
    {
        return generate(seed, durationMs, settleMs, nodes, kinds, 2_000, 5_000);
    }

    /**
     * Draws the faults of a run: after a warm-up of two seconds, faults of {@code minLengthMs} to
     * {@code maxLengthMs} with quiet stretches of 2–4 s between them, the last one healed at least
     * {@code settleMs} before the end.
     *
     * @param seed        the seed
     * @param durationMs  how long the workload runs
     * @param settleMs    quiet time kept at the end
     * @param nodes       how many nodes
     * @param kinds       the kinds to draw from
     * @param minLengthMs the shortest fault
     * @param maxLengthMs the longest fault
     * @return the faults in time order
     */
    static List<Fault> generate(final long seed, final long durationMs, final long settleMs, final int nodes, final Set<Kind> kinds,
        final long minLengthMs, final long maxLengthMs)
    {
        if (kinds.isEmpty())
        {
            return List.of();
        }
        final List<Kind> choices = new ArrayList<>(kinds);
        Collections.sort(choices);
        final SplittableRandom random = new SplittableRandom(seed);
        final List<Fault> faults = new ArrayList<>();
        long t = 2_000;
        while (true)
        {
            final long drawn = minLengthMs + random.nextLong(maxLengthMs - minLengthMs + 1);
            final Kind kind = choices.get(random.nextInt(choices.size()));
            final long length = kind == Kind.ELECTION ? ELECTION_WINDOW_MS : drawn;
            if (t + length > durationMs - settleMs)
            {
                break;
            }
            final String shape;
            switch (kind)
            {
                case PARTITION:
                {
                    final List<String> shapes = new ArrayList<>(List.of("majority-minority", "isolate-leader", "one-way"));
                    if (nodes >= 5)
                    {
                        shapes.add("bridge");
                    }
                    shape = shapes.get(random.nextInt(shapes.size()));
                    break;
                }
                case LOSS:
                    shape = LOSS_PERCENT + "%";
                    break;
                case DELAY:
                    shape = DELAY.delayMs() + "+-" + DELAY.jitterMs() + "ms";
                    break;
                case ELECTION:
                    shape = "leader";
                    break;
                case SLOW_DISK:
                    shape = (random.nextBoolean() ? "leader " : "node ") + SLOW_DISK_MS[random.nextInt(SLOW_DISK_MS.length)] + "ms";
                    break;
                default:
                    shape = random.nextBoolean() ? "leader" : "node";
                    break;
            }
            faults.add(new Fault(t, length, kind, shape, random.nextLong() & Long.MAX_VALUE));
            t += length + 2_000 + random.nextLong(2_001);
        }
        return faults;
    }

    /**
     * The node a kill or pause hits.
     *
     * @param fault  the fault
     * @param nodes  the node ids
     * @param leader the current leader, or 0 if none is known (then a node is picked)
     * @return the node
     */
    static long target(final Fault fault, final List<Long> nodes, final long leader)
    {
        if ((fault.shape().equals("leader") || fault.shape().startsWith("leader ")) && leader != 0)
        {
            return leader;
        }
        return nodes.get((int)(fault.pick() % nodes.size()));
    }

    /**
     * @param fault a SLOW_DISK fault
     * @return the extra delay before every log sync it sets, in milliseconds
     */
    static long slowDiskMs(final Fault fault)
    {
        final String shape = fault.shape();
        return Long.parseLong(shape.substring(shape.indexOf(' ') + 1, shape.length() - "ms".length()));
    }

    /**
     * The one-way links a partition cuts.
     *
     * @param fault  a PARTITION fault
     * @param nodes  the node ids
     * @param leader the current leader, or 0 if none is known (then a node is picked)
     * @return the cut links, each {@code {from, to}}
     */
    static Set<List<Long>> cuts(final Fault fault, final List<Long> nodes, final long leader)
    {
        final SplittableRandom random = new SplittableRandom(fault.pick());
        final List<Long> shuffled = new ArrayList<>(nodes);
        for (int i = shuffled.size() - 1; i > 0; i--)
        {
            Collections.swap(shuffled, i, random.nextInt(i + 1));
        }
        final long focus = leader != 0 ? leader : shuffled.get(0);
        final Set<List<Long>> cuts = new HashSet<>();
        switch (fault.shape())
        {
            case "isolate-leader":
                for (final long n : nodes)
                {
                    if (n != focus)
                    {
                        cuts.add(List.of(focus, n));
                        cuts.add(List.of(n, focus));
                    }
                }
                break;
            case "one-way":
                // The focus node's packets to every other node are lost; it still hears them.
                for (final long n : nodes)
                {
                    if (n != focus)
                    {
                        cuts.add(List.of(focus, n));
                    }
                }
                break;
            case "bridge":
            {
                // Two halves that cannot reach each other, and one node that reaches both.
                final long bridge = shuffled.get(0);
                final int half = (shuffled.size() - 1) / 2;
                final List<Long> left = shuffled.subList(1, 1 + half);
                final List<Long> right = shuffled.subList(1 + half, shuffled.size());
                for (final long a : left)
                {
                    for (final long b : right)
                    {
                        cuts.add(List.of(a, b));
                        cuts.add(List.of(b, a));
                    }
                }
                assert !left.contains(bridge) && !right.contains(bridge);
                break;
            }
            default:
            {
                // majority-minority: a random minority on one side.
                final int minority = 1 + random.nextInt((nodes.size() - 1) / 2);
                final List<Long> small = shuffled.subList(0, minority);
                for (final long a : small)
                {
                    for (final long b : nodes)
                    {
                        if (!small.contains(b))
                        {
                            cuts.add(List.of(a, b));
                            cuts.add(List.of(b, a));
                        }
                    }
                }
                break;
            }
        }
        return cuts;
    }
}
