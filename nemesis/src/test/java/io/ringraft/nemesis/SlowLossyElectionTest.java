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
 * deterministic simulator: how many terms pass and how many writes one client gets acknowledged,
 * one at a time, in 12 s; once over datagram links (a lost message is gone), once over links that
 * behave as Aeron's reliable streams (a lost packet is repaired a NAK round trip later and holds up
 * everything behind it), which is what real processes see.
 */
class SlowLossyElectionTest
{
    private static final int SEEDS = 30;

    record Figures(long seed, long terms, int acked)
    {
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

    /**
     * Over datagrams. The engine before the changes for slow links, same 30 seeds, 3 nodes: 27 of 30
     * within 4 new terms, mean 2.5 new terms and 24.6 writes. The election backoff alone cost some
     * seeds a whole backed-off timeout per lost vote message, which the one repeat of the vote
     * requests halfway to the timeout wins back.
     */
    @Test
    void electionsSettleOnSlowLossyDatagramLinksWithTheLeaderKilled()
    {
        check(false, 10);
    }

    /**
     * Over Aeron-like streams. The engine before the election backoff, the patience learnt from gaps
     * and vote round trips, and the repeated vote requests, same 30 seeds, 3 nodes: none within 4 new
     * terms, mean 8.5 new terms and 0.2 writes per 12 s, writes acknowledged in 5 of 30 (5 nodes, 10
     * seeds: 8–12 new terms, 0–1 writes), as the outside test and the nemesis saw on real processes.
     */
    @Test
    void electionsSettleOverAeronLikeStreams()
    {
        check(true, 1);
    }

    private static void check(final boolean streams, final int writesPerRun)
    {
        final StringBuilder sb = new StringBuilder();
        for (final int nodes : new int[]{3, 5})
        {
            int settled = 0;
            int progressed = 0;
            long terms = 0;
            long acked = 0;
            for (long seed = 1; seed <= SEEDS; seed++)
            {
                final Figures f = run(nodes, seed, streams);
                settled += f.terms() <= 4 ? 1 : 0;
                progressed += f.acked() >= writesPerRun ? 1 : 0;
                terms += f.terms();
                acked += f.acked();
            }
            sb.append(String.format(Locale.ROOT, "%s, %d nodes, %d seeds: at most 4 new terms in %d, at least %d writes acknowledged in %d, " +
                "mean %.1f new terms and %.1f writes per 12 s%n", streams ? "streams" : "datagrams", nodes, SEEDS, settled, writesPerRun,
                progressed, (double)terms / SEEDS, (double)acked / SEEDS));
            assertTrue(settled >= SEEDS - 2, "at most four elections in 12 s for all but two seeds:\n" + sb);
            assertTrue(progressed >= SEEDS - 2, "writes acknowledged for all but two seeds:\n" + sb);
        }
        System.out.print(sb);
    }
}
