package io.ringraft.service;

import io.ringraft.transport.aeron.FreePorts;
import io.ringraft.ThreadingMode;
import io.ringraft.Vote;
import io.ringraft.WriteStatus;
import io.ringraft.YieldThenParkIdleStrategy;
import io.ringraft.YieldThenWaitIdleStrategy;
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
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A three-node service cluster in this JVM over Aeron UDP, driven by the client library. */
final class ServiceClusterTest
{
    @Test
    void incrementsAreAppliedExactlyOnceAcrossALeaderRestart() throws Exception
    {
        incrementsAcrossALeaderRestart(ctx -> { }, () -> { });
    }

    /**
     * The composed layout (INVOKER with an embedded driver): each node's driver, Raft node and client ingress
     * run in one thread, the ingress's, and serve as the threaded layout does, across a leader's restart.
     */
    @Test
    void composedNodesRunTheirDriverInTheIngressThreadAndServeTheSame() throws Exception
    {
        final Set<String> before = driverThreads();
        // Each node on an embedded driver of its own, not the test cluster's shared one.
        incrementsAcrossALeaderRestart(ctx -> ctx.aeronDirectory(null).threadingMode(ThreadingMode.INVOKER)
            .idleStrategy(YieldThenParkIdleStrategy::new), () ->
        {
            final Set<String> started = new TreeSet<>(driverThreads());
            started.removeAll(before);
            assertEquals(2, started.size(), "only the test cluster's shared driver (unused) and the client's run a thread: " + started);
        });
    }

    /**
     * Composed nodes that sleep on their driver's sockets when idle ({@link YieldThenWaitIdleStrategy}) serve the
     * same: every wait ends for a datagram, a write handed over by another thread, or its timeout.
     */
    @Test
    void composedNodesThatWaitOnTheirSocketsServeTheSame() throws Exception
    {
        final List<YieldThenWaitIdleStrategy> strategies = new CopyOnWriteArrayList<>();
        incrementsAcrossALeaderRestart(ctx -> ctx.aeronDirectory(null).threadingMode(ThreadingMode.INVOKER).idleStrategy(() ->
        {
            final YieldThenWaitIdleStrategy idle = new YieldThenWaitIdleStrategy();
            strategies.add(idle);
            return idle;
        }), () -> { });
        assertTrue(strategies.size() >= 4, "three nodes and the restarted one: " + strategies.size());
        for (final YieldThenWaitIdleStrategy idle : strategies)
        {
            assertTrue(idle.isBound(), "bound to its node's driver: " + idle);
        }
        assertTrue(strategies.stream().mapToLong(YieldThenWaitIdleStrategy::waits).sum() > 0, "the nodes waited on their sockets");
    }

    /**
     * A client that runs its embedded driver in its polling thread (no driver thread) and sleeps on the driver's
     * sockets between replies, against nodes that do the same.
     */
    @Test
    void aClientThatRunsItsDriverInItsPollingThreadSleepsOnItsSockets() throws Exception
    {
        try (TestCluster cluster = new TestCluster(3, ctx -> ctx.aeronDirectory(null).threadingMode(ThreadingMode.INVOKER)
            .idleStrategy(YieldThenWaitIdleStrategy::new)))
        {
            cluster.awaitLeader(10_000);
            final Set<String> before = driverThreads();
            try (RingraftClient client = RingraftClient.connect(new RingraftClient.Context().endpoints(cluster.endpoints()).clusterId(7)
                .invokedDriver(true).commandTimeout(20, TimeUnit.SECONDS)))
            {
                assertEquals(before, driverThreads(), "the client's driver has no thread");
                final org.agrona.concurrent.IdleStrategy idle = client.idleStrategy();
                final YieldThenWaitIdleStrategy waiting = assertInstanceOf(YieldThenWaitIdleStrategy.class, idle);
                final byte[] inc = CounterService.command(CounterService.INCREMENT, 1, 0);
                for (int i = 1; i <= 100; i++)
                {
                    final CompletableFuture<CommandResult> f = client.submit(inc);
                    final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                    while (!f.isDone())
                    {
                        idle.idle(client.poll());
                        assertTrue(System.nanoTime() < deadline, "command " + i + " not answered");
                    }
                    final CommandResult r = f.get();
                    assertEquals(Outcome.OK, r.outcome(), r.toString());
                    assertEquals(i, new UnsafeBuffer(r.response()).getLong(0));
                }
                assertTrue(waiting.waits() > 0, "the client slept on its sockets between replies");
            }
        }
        final IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, () -> RingraftClient.connect(
            new RingraftClient.Context().endpoints(List.of("127.0.0.1:1")).aeronDirectory("/dev/shm/elsewhere").invokedDriver(true)));
        assertTrue(ex.getMessage().contains("invokedDriver=true needs a session and the embedded driver"), ex.getMessage());
    }

    @Test
    void waitingOnSocketsNeedsTheComposedLayout()
    {
        final IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, () ->
            new TestCluster(1, ctx -> ctx.threadingMode(ThreadingMode.SHARED).idleStrategy(YieldThenWaitIdleStrategy::new)).close());
        assertTrue(ex.getMessage().contains("needs threadingMode=INVOKER"), ex.getMessage());
    }

    @Test
    void anMtuTheDriverCannotUseIsRefusedNamingIt()
    {
        final IllegalArgumentException node = assertThrows(IllegalArgumentException.class, () ->
            new TestCluster(1, ctx -> ctx.termLength(64 * 1024).mtu(16384)).close());
        assertTrue(node.getMessage().contains("mtu=16384 must be at most the term length / 8 (8192 with a term length of 65536)"),
            node.getMessage());
        final IllegalArgumentException client = assertThrows(IllegalArgumentException.class, () -> RingraftClient.connect(
            new RingraftClient.Context().endpoints(List.of("127.0.0.1:1")).mtu(1500)));
        assertTrue(client.getMessage().contains("mtu=1500 must be 0 (auto) or a multiple of 32 from 1024 to 65504"), client.getMessage());
    }

    /** @return the live threads of media drivers (a SHARED driver's is named after its three agents) */
    private static Set<String> driverThreads()
    {
        final Set<String> names = new TreeSet<>();
        for (final Thread thread : Thread.getAllStackTraces().keySet())
        {
            if (thread.isAlive() && thread.getName().contains("driver-conductor"))
            {
                names.add(thread.getName() + "#" + thread.getId());
            }
        }
        return names;
    }

    private static void incrementsAcrossALeaderRestart(final Consumer<ServiceNode.Context> layout, final Runnable checkThreads)
        throws Exception
    {
        try (TestCluster cluster = new TestCluster(3, layout))
        {
            cluster.awaitLeader(10_000);
            try (RingraftClient client = RingraftClient.connect(new RingraftClient.Context().endpoints(cluster.endpoints()).clusterId(7)
                .window(16).commandTimeout(20, TimeUnit.SECONDS).resendInterval(500, TimeUnit.MILLISECONDS)))
            {
                checkThreads.run();
                final int total = 600;
                final CompletableFuture<?>[] futures = new CompletableFuture<?>[total];
                final byte[] inc = CounterService.command(CounterService.INCREMENT, 1, 0);
                long killed = 0;
                for (int i = 0; i < total; i++)
                {
                    while (client.inFlight() >= 16)
                    {
                        client.poll();
                    }
                    futures[i] = client.submit(inc);
                    if (i == total / 2)
                    {
                        killed = cluster.awaitLeader(10_000);
                        cluster.stop(killed);
                    }
                }
                long maxValue = 0;
                for (final CompletableFuture<?> f : futures)
                {
                    final CommandResult r = (CommandResult)client.await(f);
                    assertEquals(Outcome.OK, r.outcome(), r.toString());
                    maxValue = Math.max(maxValue, new UnsafeBuffer(r.response()).getLong(0));
                }
                assertEquals(total, maxValue);
                cluster.start(killed);
                final QueryResult q = client.queryAndWait(new byte[0], ReadMode.LINEARIZABLE);
                assertTrue(q.isOk(), q.toString());
                assertEquals(total, new UnsafeBuffer(q.response()).getLong(0));
                cluster.awaitConverged(10_000);
                for (final long id : cluster.nodes.keySet())
                {
                    assertEquals(total, cluster.counter(id).value(), "node " + id);
                }
            }
        }
    }

    @Test
    void aLeaderWhoseIngressLosesItsAeronClientStopsAsAWholeAndAnotherNodeLeads() throws Exception
    {
        try (TestCluster cluster = new TestCluster(3, ctx -> { }))
        {
            final long leader = cluster.awaitLeader(10_000);
            final ServiceNode failing = cluster.nodes.get(leader);
            // The ingress's Aeron client stops by itself (as on a driver timeout): the node can no
            // longer reach its clients, so it must not go on leading half-running.
            failing.ingress().aeron().close();
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (failing.raft().failure() == null && System.nanoTime() < deadline)
            {
                Thread.sleep(5);
            }
            final Throwable failure = failing.raft().failure();
            assertNotNull(failure, "the node failed stop");
            assertTrue(String.valueOf(failure.getMessage()).contains("client ingress"), String.valueOf(failure));
            assertFalse(failing.raft().isLeader(), "it stopped leading");
            assertEquals(WriteStatus.FATAL, failing.raft().clientWrite(new byte[8]).get(5, TimeUnit.SECONDS).status(), "it answers FATAL");
            long next = Vote.NO_NODE;
            final long electionDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (next == Vote.NO_NODE && System.nanoTime() < electionDeadline)
            {
                for (final ServiceNode node : cluster.nodes.values())
                {
                    if (node != failing && node.raft().isLeader())
                    {
                        next = node.raft().nodeId();
                    }
                }
                Thread.sleep(10);
            }
            assertNotEquals(Vote.NO_NODE, next, "another node leads");
            try (RingraftClient client = RingraftClient.connect(new RingraftClient.Context().endpoints(cluster.endpoints()).clusterId(7)
                .commandTimeout(20, TimeUnit.SECONDS).resendInterval(300, TimeUnit.MILLISECONDS)))
            {
                assertEquals(Outcome.OK, client.execute(CounterService.command(CounterService.INCREMENT, 1, 0)).outcome(),
                    "the others serve clients");
            }
        }
    }

    @Test
    void aRestartedNodeAnswersLocalQueriesNotReadyUntilItCaughtUp() throws Exception
    {
        try (TestCluster cluster = new TestCluster(3, ctx -> { }))
        {
            final long leader = cluster.awaitLeader(10_000);
            final long follower = leader == 1 ? 2 : 1;
            final String endpoint = cluster.clientEndpoints.get(follower);
            try (RingraftClient client = RingraftClient.connect(new RingraftClient.Context().endpoints(cluster.endpoints()).clusterId(7)
                .window(16).commandTimeout(20, TimeUnit.SECONDS).resendInterval(500, TimeUnit.MILLISECONDS)))
            {
                final byte[] inc = CounterService.command(CounterService.INCREMENT, 1, 0);
                for (int i = 0; i < 20; i++)
                {
                    assertEquals(Outcome.OK, client.execute(inc).outcome());
                }
                cluster.awaitConverged(10_000);
                // The snapshot holds the client's session, so the restarted node knows it before it applies anything.
                cluster.nodes.get(follower).raft().triggerSnapshot().get(10, TimeUnit.SECONDS);
                for (int i = 0; i < 30; i++)
                {
                    assertEquals(Outcome.OK, client.execute(inc).outcome());
                }
                cluster.awaitConverged(10_000);
                final QueryResult before = client.await(client.queryMember(endpoint, new byte[0]));
                assertEquals(50, new UnsafeBuffer(before.response()).getLong(0), before.toString());

                // Alone after the restart, the node has its snapshot (20) and its log (50) but cannot learn what committed.
                for (final long id : new long[] {follower, 1 + (follower % 3), 1 + ((follower + 1) % 3)})
                {
                    cluster.stop(id);
                }
                cluster.start(follower);
                assertEquals(20, cluster.counter(follower).value(), "loaded its snapshot");
                final QueryResult stale = client.await(client.queryMember(endpoint, new byte[0]));
                assertEquals(ClientProtocol.NOT_READY, stale.status(), stale.toString());

                for (long id = 1; id <= 3; id++)
                {
                    if (id != follower)
                    {
                        cluster.start(id);
                    }
                }
                final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                QueryResult ready;
                do
                {
                    assertTrue(System.nanoTime() < deadline, "the restarted node never served the local query");
                    Thread.sleep(50);
                    ready = client.await(client.queryMember(endpoint, new byte[0]));
                }
                while (ready.status() == ClientProtocol.NOT_READY);
                assertTrue(ready.isOk(), ready.toString());
                assertEquals(50, new UnsafeBuffer(ready.response()).getLong(0), "served once caught up, with every increment");
            }
        }
    }

    @Test
    void connectsPastAnUnreachableMemberAndAFollowerThatRedirects() throws Exception
    {
        try (TestCluster cluster = new TestCluster(3, ctx -> { }))
        {
            final long leader = cluster.awaitLeader(10_000);
            final long follower = leader == 1 ? 2 : 1;
            final String dead = "127.0.0.1:" + FreePorts.udpPort();
            try (RingraftClient client = RingraftClient.connect(new RingraftClient.Context().clusterId(7).endpoint(dead)
                .endpoint(cluster.clientEndpoints.get(follower)).resendInterval(300, TimeUnit.MILLISECONDS)))
            {
                final CommandResult r = client.execute(CounterService.command(CounterService.INCREMENT, 3, 0));
                assertEquals(Outcome.OK, r.outcome(), r.toString());
                assertEquals(cluster.clientEndpoints.get(leader), client.leaderEndpoint(), "followed the redirect to the leader");
                final QueryResult local = client.await(client.queryMember(cluster.clientEndpoints.get(follower), new byte[0]));
                assertTrue(local.isOk(), local.toString());
            }
        }
    }
    @Test
    void movesOnFromAMemberThatKnowsNoLeaderToTheOnesThatDo() throws Exception
    {
        try (TestCluster cluster = new TestCluster(3, ctx -> { }))
        {
            final long leader = cluster.awaitLeader(10_000);
            final long follower = leader == 1 ? 2 : 1;
            // A member cut off from the others, still answering clients (here one whose peers are absent): it knows
            // no leader and says so, for as long as it runs. The client tries it first.
            final String lonerClient = "127.0.0.1:" + FreePorts.udpPort();
            final ServiceNode.Context lonerCtx = new ServiceNode.Context().nodeId(9).clusterId(7)
                .dataDir(cluster.baseDir.resolve("loner")).aeronDirectory(cluster.driver.aeronDirectoryName())
                .durability(io.ringraft.storage.DurabilityPolicy.NONE).service(new CounterService())
                .idleStrategy(() -> new org.agrona.concurrent.SleepingMillisIdleStrategy(1)).timing(300, 600, 50)
                .member(9, "127.0.0.1:" + FreePorts.udpPort(), lonerClient)
                .member(10, "127.0.0.1:" + FreePorts.udpPort(), "127.0.0.1:" + FreePorts.udpPort())
                .member(11, "127.0.0.1:" + FreePorts.udpPort(), "127.0.0.1:" + FreePorts.udpPort());
            try (ServiceNode loner = ServiceNode.launch(lonerCtx);
                RingraftClient client = RingraftClient.connect(new RingraftClient.Context().clusterId(7).endpoint(lonerClient)
                    .endpoint(cluster.clientEndpoints.get(follower)).connectTimeout(5, TimeUnit.SECONDS)
                    // Longer than the connect timeout: only the loner's answer, not its silence, can move the client on.
                    .resendInterval(10, TimeUnit.SECONDS)))
            {
                final CommandResult r = client.execute(CounterService.command(CounterService.INCREMENT, 2, 0));
                assertEquals(Outcome.OK, r.outcome(), r.toString());
                assertEquals(cluster.clientEndpoints.get(leader), client.leaderEndpoint(), "found the leader past the member without one");
            }
        }
    }
}
