package io.ringraft.nemesis;

import io.ringraft.testkit.sim.SimCluster;
import io.ringraft.testkit.sim.SimOp;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Elections on slow, lossy links with a node down, the scenario of issue #15 (145 ± 60 ms one-way
 * delay, 22 % loss, the leader killed, the default 300–600 ms election timeout), in the
 * deterministic simulator, which models the protocol but not Aeron's connection handling: how many
 * terms pass and how many writes one client gets acknowledged, one at a time, in 12 s; once over
 * datagram links, once over links that behave as Aeron's reliable streams.
 */
class SlowLossyElectionTest
{
    record Figures(long seed, long terms, int acked)
    {
    }

    static Figures run(final int nodes, final long seed)
    {
        return run(nodes, seed, false);
    }

    static Figures run(final int nodes, final long seed, final boolean streams)
    {
        final SimCluster cluster = SimCluster.builder().nodes(nodes).seed(seed).networkDelayMicros(85_000, 205_000)
            .clientTimeoutMillis(8_000)
            .engineConfig(c -> c.electionTimeoutMinNanos(TimeUnit.MILLISECONDS.toNanos(300))
                .electionTimeoutMaxNanos(TimeUnit.MILLISECONDS.toNanos(600)))
            .build();
        cluster.awaitLeader(30_000);
        cluster.crash(cluster.leader());
        cluster.network().reliableStreams(streams).lossRate(0.22);
        final long startTerm = maxTerm(cluster, nodes);
        final long start = cluster.nowMillis();
        final List<SimOp> writes = new ArrayList<>();
        int i = 0;
        while (cluster.nowMillis() - start < 12_000)
        {
            if (writes.isEmpty() || writes.get(writes.size() - 1).isDone())
            {
                writes.add(cluster.write("k" + (i % 4), "v" + i));
                i++;
            }
            cluster.advance(10);
        }
        int acked = 0;
        for (final SimOp w : writes)
        {
            acked += w.isOk() ? 1 : 0;
        }
        return new Figures(seed, maxTerm(cluster, nodes) - startTerm, acked);
    }

    private static long maxTerm(final SimCluster cluster, final int nodes)
    {
        long term = 0;
        for (int id = 1; id <= nodes; id++)
        {
            term = Math.max(term, cluster.metrics(id).term());
        }
        return term;
    }

    @Test
    void electionsSettleOnSlowLossyLinksWithTheLeaderKilled()
    {
        final StringBuilder sb = new StringBuilder();
        for (final int nodes : new int[]{3, 5})
        {
            int settled = 0;
            int acked = 0;
            for (long seed = 1; seed <= 10; seed++)
            {
                final Figures f = run(nodes, seed);
                sb.append(String.format(Locale.ROOT, "%d nodes, seed %d: %d new terms, %d writes acknowledged in 12 s%n", nodes, f.seed(),
                    f.terms(), f.acked()));
                settled += f.terms() <= 4 ? 1 : 0;
                acked += f.acked();
            }
            assertTrue(settled >= 9, "at most four elections in 12 s for 9 of 10 seeds:\n" + sb);
            assertTrue(acked >= 150, "about two writes a second acknowledged (each takes two round trips of ~290 ms):\n" + sb);
        }
        System.out.print(sb);
    }

    /**
     * The same over links that behave as Aeron's streams do ({@code SimNetwork.reliableStreams}): a
     * lost packet is repaired a round trip later and holds up everything behind it on its link. This
     * is what the outside test and the nemesis saw on real processes: before the election backoff and
     * the adaptive patience (the engine's {@code observeGap}), 7–12 new terms in 12 s and 0–3 writes
     * acknowledged for these 20 seeds; the datagram model above never showed it.
     */
    @Test
    void electionsSettleOverAeronLikeStreams()
    {
        final StringBuilder sb = new StringBuilder();
        for (final int nodes : new int[]{3, 5})
        {
            int settled = 0;
            int progressed = 0;
            for (long seed = 1; seed <= 10; seed++)
            {
                final Figures f = run(nodes, seed, true);
                sb.append(String.format(Locale.ROOT, "streams, %d nodes, seed %d: %d new terms, %d writes acknowledged in 12 s%n", nodes,
                    f.seed(), f.terms(), f.acked()));
                settled += f.terms() <= 4 ? 1 : 0;
                progressed += f.acked() >= 1 ? 1 : 0;
            }
            assertTrue(settled >= 9, "at most four elections in 12 s for 9 of 10 seeds:\n" + sb);
            assertTrue(progressed >= 9, "writes acknowledged for 9 of 10 seeds:\n" + sb);
        }
        System.out.print(sb);
    }
}
