package io.ringraft.server;

import io.ringraft.client.NodeStatus;
import io.ringraft.client.Outcome;
import io.ringraft.client.QueryResult;
import io.ringraft.client.RingraftClient;
import io.ringraft.service.example.CounterService;
import io.ringraft.storage.DurabilityPolicy;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Exactly once across failover with real processes: three node processes ({@code ringraft node}
 * with {@code service = CounterService}), a client sending N increments through the client
 * library, the leader SIGKILLed and restarted several times mid-stream (restarting from its
 * snapshots and log). Every increment is acknowledged, the responses are exactly 1..N (each
 * applied once, every retry answered from the cache), the final counter is N on every replica,
 * and timers scheduled before the kills fire exactly once everywhere, cluster time never going
 * backwards. The whole run is authenticated from the nodes' config files: a cluster key on every
 * Raft frame, and the client's own credentials, required by the nodes, on every request and
 * answer (so session ownership, epochs and replay state survive kills, restarts and snapshots).
 */
class ServiceProcessTest
{
    private static final int CLUSTER_ID = 78;
    private static final int INCREMENTS = 3_000;
    private static final int KILLS = 3;
    private static final int TIMERS = 8;

    @TempDir
    Path dir;

    private LocalCluster cluster;

    @AfterEach
    void stopChildren()
    {
        if (cluster != null)
        {
            cluster.close();
        }
    }

    @Test
    void incrementsAreAppliedExactlyOnceWhileTheLeaderIsKilledAndRestarted() throws Exception
    {
        final String clusterKey = "5c0b1f2e3d4c5b6a79880f1e2d3c4b5a69788796a5b4c3d2e1f0011223344556";
        final String clientKey = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
        final Path clusterKeyFile = Files.writeString(dir.resolve("cluster.key"), "key.1 = " + clusterKey + "\n");
        final Path credentials = Files.writeString(dir.resolve("clients"), "client.31.key.1 = " + clientKey + "\n");
        final Path clientKeyFile = Files.writeString(dir.resolve("client.key"), "key.1 = " + clientKey + "\n");
        cluster = new LocalCluster(3, CLUSTER_ID, dir, DurabilityPolicy.NONE, true,
            Map.of("service", CounterService.class.getName(), "snapshot.every", "500", "election.timeout.ms", "300-600",
                NodeConfig.AUTH_CLUSTER_KEY_FILE, clusterKeyFile.toString(), NodeConfig.AUTH_CLIENT_CREDENTIALS_FILE, credentials.toString(),
                NodeConfig.AUTH_CLIENT_REQUIRED, "true"), false);
        cluster.startAll();
        final List<String> endpoints = new ArrayList<>(cluster.clientEndpoints().values());
        final BitSet values = new BitSet();
        final int[] outcomes = new int[Outcome.CLIENT_CLOSED + 1];
        final long[] duplicates = new long[1];
        try (RingraftClient client = RingraftClient.connect(new RingraftClient.Context().endpoints(endpoints).clusterId(CLUSTER_ID)
            .credentials(31, clientKeyFile).window(16).commandTimeout(60, TimeUnit.SECONDS).connectTimeout(60, TimeUnit.SECONDS)
            .resendInterval(300, TimeUnit.MILLISECONDS)
            .responseHandler((seq, outcome, duplicate, index, buffer, offset, length) ->
            {
                outcomes[outcome]++;
                duplicates[0] += duplicate ? 1 : 0;
                if (outcome == Outcome.OK)
                {
                    final long value = buffer.getLong(offset);
                    assertTrue(value >= 1 && value <= INCREMENTS && !values.get((int)value), "response " + value + " of seq " + seq);
                    values.set((int)value);
                }
            })))
        {
            for (int i = 1; i <= TIMERS; i++)
            {
                // Timers spread over the run: some fire before a kill, some after, some after a restart from a snapshot.
                final int outcome = client.execute(CounterService.command(CounterService.SCHEDULE, i, TimeUnit.MILLISECONDS.toNanos(700L * i)))
                    .outcome();
                assertEquals(Outcome.OK, outcome);
            }
            final UnsafeBuffer increment = new UnsafeBuffer(CounterService.command(CounterService.INCREMENT, 1, 0));
            int offered = 0;
            int kills = 0;
            long nextKillAt = INCREMENTS / (KILLS + 1);
            final IdleStrategy idle = new BackoffIdleStrategy(10, 20, 1_000, 1_000_000);
            int progress = -1;
            long progressAt = System.nanoTime();
            while (outcomes[Outcome.OK] + outcomes[Outcome.TIMED_OUT] + outcomes[Outcome.REJECTED] + outcomes[Outcome.SESSION_CLOSED] <
                INCREMENTS)
            {
                // Never hang: a closed session or a minute without an outcome ends the test with what the client saw.
                final int done = Arrays.stream(outcomes).sum();
                if (done != progress)
                {
                    progress = done;
                    progressAt = System.nanoTime();
                }
                if (client.isSessionClosed() || System.nanoTime() - progressAt > TimeUnit.SECONDS.toNanos(120))
                {
                    fail("no progress: session closed " + client.isSessionClosed() + ", session " + client.sessionId() + ", offered " +
                        offered + ", in flight " + client.inFlight() + ", leader endpoint " + client.leaderEndpoint() + ", refused answers " +
                        client.refusedResponses() + ", kills " + kills + ", outcomes " + Arrays.toString(outcomes));
                }
                if (offered < INCREMENTS && client.offer(increment, 0, increment.capacity()) > 0)
                {
                    offered++;
                }
                // Back off when idle: a spinning client took a core of the two, the nodes starved and
                // elections churned (terms in the hundreds) while the test's commands went unanswered.
                idle.idle(client.poll());
                if (kills < KILLS && offered >= nextKillAt)
                {
                    final long leader = leaderOf(client, endpoints);
                    cluster.kill(leader);
                    cluster.start(leader);
                    kills++;
                    nextKillAt += INCREMENTS / (KILLS + 1);
                }
            }
            assertEquals(INCREMENTS, outcomes[Outcome.OK], "every increment acknowledged: outcomes " + Arrays.toString(outcomes));
            assertEquals(INCREMENTS, values.cardinality(), "responses are exactly 1.." + INCREMENTS);
            assertEquals(KILLS, kills);

            // Every replica reaches N and fires every timer once.
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            List<long[]> replicas;
            while (true)
            {
                replicas = new ArrayList<>();
                for (final String endpoint : endpoints)
                {
                    final QueryResult q = client.await(client.queryMember(endpoint, new byte[0]));
                    if (q.isOk())
                    {
                        final UnsafeBuffer b = new UnsafeBuffer(q.response());
                        replicas.add(new long[] {b.getLong(0), b.getLong(16), b.getLong(24), b.getLong(32)});
                    }
                }
                final boolean done = replicas.size() == 3 && replicas.stream().allMatch(r -> r[0] == INCREMENTS && r[1] == TIMERS);
                if (done || System.nanoTime() > deadline)
                {
                    break;
                }
                Thread.sleep(100);
            }
            for (final long[] r : replicas)
            {
                assertEquals(INCREMENTS, r[0], "counter on a replica");
                assertEquals(TIMERS, r[1], "timers fired on a replica");
                assertEquals(0, r[2], "no timer fired twice");
                assertEquals(0, r[3], "cluster time never went back");
            }
            assertEquals(3, replicas.size());
            assertEquals(0, client.refusedResponses(), "every answer was authentic");
            System.out.println("exactly-once: " + INCREMENTS + " increments, " + KILLS + " leader SIGKILLs, " + duplicates[0] +
                " answered from the cache");
        }
    }

    private static long leaderOf(final RingraftClient client, final List<String> endpoints) throws InterruptedException
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline)
        {
            for (final String endpoint : endpoints)
            {
                final NodeStatus s = client.await(client.status(endpoint));
                if (s != null && s.isLeader())
                {
                    return s.nodeId();
                }
            }
            Thread.sleep(20);
        }
        throw new AssertionError("no leader within 30 s");
    }
}
