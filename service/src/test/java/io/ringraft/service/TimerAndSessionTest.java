package io.ringraft.service;

import io.ringraft.client.ClientException;
import io.ringraft.client.ClientProtocol;
import io.ringraft.client.CommandResult;
import io.ringraft.client.Outcome;
import io.ringraft.client.QueryResult;
import io.ringraft.client.ReadMode;
import io.ringraft.client.RingraftClient;
import io.ringraft.service.example.CounterService;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Replicated timers, cluster time and session limits on a service cluster in this JVM. */
final class TimerAndSessionTest
{
    private static final int TIMERS = 20;

    private static RingraftClient connect(final TestCluster cluster)
    {
        return RingraftClient.connect(new RingraftClient.Context().endpoints(cluster.endpoints()).clusterId(7)
            .commandTimeout(20, TimeUnit.SECONDS).resendInterval(500, TimeUnit.MILLISECONDS));
    }

    private static long[] fields(final RingraftClient client)
    {
        final QueryResult q = client.queryAndWait(new byte[0], ReadMode.LINEARIZABLE);
        assertTrue(q.isOk(), q.toString());
        final UnsafeBuffer b = new UnsafeBuffer(q.response());
        final long[] f = new long[CounterService.QUERY_LONGS];
        for (int i = 0; i < f.length; i++)
        {
            f[i] = b.getLong(i * 8);
        }
        return f;
    }

    private static void awaitFired(final TestCluster cluster, final long expected, final long timeoutMs) throws InterruptedException
    {
        final long deadline = System.currentTimeMillis() + timeoutMs;
        while (System.currentTimeMillis() < deadline)
        {
            boolean all = true;
            for (final long id : cluster.nodes.keySet())
            {
                all &= cluster.counter(id).fields()[2] >= expected;
            }
            if (all)
            {
                return;
            }
            Thread.sleep(20);
        }
        throw new AssertionError("timers did not fire on every node within " + timeoutMs + " ms");
    }

    private static void assertFiredOnceEverywhere(final TestCluster cluster) throws InterruptedException
    {
        awaitFired(cluster, TIMERS, 20_000);
        cluster.awaitConverged(10_000);
        for (final long id : cluster.nodes.keySet())
        {
            final long[] f = cluster.counter(id).fields();
            assertEquals(TIMERS, f[2], "node " + id + " fired every timer");
            assertEquals(0, f[3], "node " + id + " fired no timer twice");
            assertEquals(0, f[4], "node " + id + " saw cluster time go backwards");
        }
    }

    @Test
    void timersFireOnceOnEveryReplicaAfterTheLeaderIsKilled() throws Exception
    {
        try (TestCluster cluster = new TestCluster(3, ctx -> { }))
        {
            cluster.awaitLeader(10_000);
            try (RingraftClient client = connect(cluster))
            {
                for (int i = 1; i <= TIMERS; i++)
                {
                    final CommandResult r = client.execute(CounterService.command(CounterService.SCHEDULE, i,
                        TimeUnit.MILLISECONDS.toNanos(300 + 50L * i)));
                    assertEquals(Outcome.OK, r.outcome(), r.toString());
                }
                final long leader = cluster.awaitLeader(10_000);
                cluster.stop(leader);
                cluster.awaitLeader(10_000);
                // The new leader's clock reaches the deadlines and fires them through the log.
                final long[] f = fields(client);
                assertEquals(0, f[4]);
                cluster.start(leader);
                assertFiredOnceEverywhere(cluster);
            }
        }
    }

    @Test
    void timersInASnapshotFireOnceAfterEveryNodeRestarts() throws Exception
    {
        try (TestCluster cluster = new TestCluster(3, ctx -> { }))
        {
            cluster.awaitLeader(10_000);
            try (RingraftClient client = connect(cluster))
            {
                for (int i = 1; i <= TIMERS; i++)
                {
                    final CommandResult r = client.execute(CounterService.command(CounterService.SCHEDULE, i, TimeUnit.SECONDS.toNanos(2)));
                    assertEquals(Outcome.OK, r.outcome(), r.toString());
                }
            }
            cluster.awaitConverged(10_000);
            for (final ServiceNode node : cluster.nodes.values())
            {
                node.raft().triggerSnapshot().get(10, TimeUnit.SECONDS);
            }
            for (final long id : List.copyOf(cluster.nodes.keySet()))
            {
                cluster.stop(id);
            }
            for (long id = 1; id <= 3; id++)
            {
                final ServiceNode node = cluster.start(id);
                assertTrue(node.raft().metrics().snapshotIndex() > 0, "node " + id + " restarts from a snapshot");
            }
            cluster.awaitLeader(10_000);
            assertFiredOnceEverywhere(cluster);
        }
    }

    @Test
    void clusterTimeNeverGoesBackWhenTheNextLeaderClockIsBehind() throws Exception
    {
        // Node 1's clock runs 5 s ahead: while it leads, cluster time follows it; after it, cluster time stays.
        try (TestCluster cluster = new TestCluster(3, ctx ->
        {
            if (ctx.nodeId() == 1)
            {
                final org.agrona.concurrent.EpochNanoClock system = new org.agrona.concurrent.SystemEpochNanoClock();
                ctx.epochClock(() -> system.nanoTime() + TimeUnit.SECONDS.toNanos(5));
            }
        }))
        {
            long leader = cluster.awaitLeader(10_000);
            if (leader != 1)
            {
                cluster.nodes.get(leader).raft().transferLeader(1, java.time.Duration.ofSeconds(5)).get();
                leader = cluster.awaitLeader(10_000);
            }
            try (RingraftClient client = connect(cluster))
            {
                for (int i = 0; i < 20; i++)
                {
                    client.execute(CounterService.command(CounterService.INCREMENT, 1, 0));
                }
                final long timeUnderSkewedLeader = fields(client)[5];
                assertTrue(timeUnderSkewedLeader > System.currentTimeMillis() * 1_000_000L + TimeUnit.SECONDS.toNanos(3),
                    "cluster time follows the leader's clock");
                cluster.stop(leader);
                cluster.awaitLeader(10_000);
                for (int i = 0; i < 20; i++)
                {
                    assertEquals(Outcome.OK, client.execute(CounterService.command(CounterService.INCREMENT, 1, 0)).outcome());
                }
                final long[] f = fields(client);
                assertEquals(40, f[0]);
                assertEquals(0, f[4], "no regression");
                assertTrue(f[5] >= timeUnderSkewedLeader, "cluster time did not go back");
            }
        }
    }

    @Test
    void sessionsAreCappedAndExpireByClusterTime() throws Exception
    {
        try (TestCluster cluster = new TestCluster(3, ctx -> ctx.maxSessions(2).sessionTimeout(1500, TimeUnit.MILLISECONDS)))
        {
            cluster.awaitLeader(10_000);
            try (RingraftClient idle = RingraftClient.connect(new RingraftClient.Context().endpoints(cluster.endpoints()).clusterId(7)
                .keepaliveInterval(1, TimeUnit.HOURS).commandTimeout(5, TimeUnit.SECONDS));
                RingraftClient busy = connect(cluster))
            {
                final ClientException refused = assertThrows(ClientException.class, () -> connect(cluster));
                assertEquals(ClientProtocol.SESSION_LIMIT, refused.status(), refused.getMessage());
                // The busy client keeps its session alive; the idle one sends nothing and expires in cluster time.
                final long until = System.currentTimeMillis() + 2500;
                while (System.currentTimeMillis() < until)
                {
                    assertEquals(Outcome.OK, busy.execute(CounterService.command(CounterService.INCREMENT, 1, 0)).outcome());
                    Thread.sleep(100);
                }
                final CommandResult late = idle.execute(CounterService.command(CounterService.INCREMENT, 1000, 0));
                assertEquals(Outcome.SESSION_CLOSED, late.outcome(), late.toString());
                assertTrue(idle.isSessionClosed());
                try (RingraftClient third = connect(cluster))
                {
                    assertEquals(Outcome.OK, third.execute(CounterService.command(CounterService.INCREMENT, 1, 0)).outcome());
                }
                assertTrue(fields(busy)[0] < 1000, "the expired session's command was not applied");
            }
        }
    }

    @Test
    void anOutageLongerThanTheSessionTimeoutExpiresNoSession() throws Exception
    {
        // No quorum for longer than the session timeout: no client can keep its session alive, and
        // the first entry after the outage must not expire them all (found by the nemesis: after a
        // leaderless stretch on slow lossy links every client's session closed and no write was
        // acknowledged for the rest of the run).
        try (TestCluster cluster = new TestCluster(3, ctx -> ctx.sessionTimeout(1500, TimeUnit.MILLISECONDS)))
        {
            final long leader = cluster.awaitLeader(10_000);
            try (RingraftClient client = connect(cluster))
            {
                assertEquals(Outcome.OK, client.execute(CounterService.command(CounterService.INCREMENT, 1, 0)).outcome());
                final long a = leader == 1 ? 2 : 1;
                final long b = leader == 3 ? 2 : 3;
                cluster.stop(a);
                cluster.stop(b);
                Thread.sleep(3_500);
                cluster.start(a);
                cluster.start(b);
                final CommandResult after = client.execute(CounterService.command(CounterService.INCREMENT, 1, 0));
                assertEquals(Outcome.OK, after.outcome(), after.toString());
                assertTrue(!client.isSessionClosed());
            }
        }
    }

    @Test
    void aClientThatOnlyReadsKeepsItsSessionAlive() throws Exception
    {
        // Queries and status requests do not go through the log, so they do not refresh a session: a
        // client that only reads must still send keepalives, and to the leader, also after the leader
        // changed (found by the nemesis, whose status watcher lost its session 10 s into every run, or
        // at the first change of leader, and with it the leader).
        try (TestCluster cluster = new TestCluster(3, ctx -> ctx.sessionTimeout(1500, TimeUnit.MILLISECONDS)))
        {
            final long first = cluster.awaitLeader(10_000);
            try (RingraftClient reader = RingraftClient.connect(new RingraftClient.Context().endpoints(cluster.endpoints()).clusterId(7)
                .keepaliveInterval(300, TimeUnit.MILLISECONDS).commandTimeout(10, TimeUnit.SECONDS));
                RingraftClient writer = connect(cluster))
            {
                for (int phase = 0; phase < 2; phase++)
                {
                    final long other = first == 1 ? 2 : 1;
                    if (phase == 1)
                    {
                        // The reader's keepalives now reach a member that does not lead (and the reader asks only that member).
                        cluster.nodes.get(first).raft().transferLeader(other, java.time.Duration.ofSeconds(5)).get(10, TimeUnit.SECONDS);
                    }
                    final String asked = cluster.clientEndpoints.get(phase == 0 ? other : first);
                    final long until = System.currentTimeMillis() + 3500;
                    while (System.currentTimeMillis() < until)
                    {
                        // The writer's entries advance cluster time; the reader reads one member and asks for its status,
                        // several times a keepalive interval.
                        assertEquals(Outcome.OK, writer.execute(CounterService.command(CounterService.INCREMENT, 1, 0)).outcome());
                        final QueryResult q = reader.await(reader.queryMember(asked, new byte[0]));
                        assertTrue(q.isOk(), "phase " + phase + ": " + q);
                        assertTrue(reader.await(reader.status(asked)) != null, "phase " + phase);
                        Thread.sleep(50);
                    }
                    assertTrue(!reader.isSessionClosed(), "phase " + phase + ": the reader's session was kept alive");
                }
                final CommandResult r = reader.execute(CounterService.command(CounterService.INCREMENT, 1, 0));
                assertEquals(Outcome.OK, r.outcome(), r.toString());
            }
        }
    }
}
