package io.ringraft.server;

import io.ringraft.AdminStatus;
import io.ringraft.runtime.RaftCounters;
import io.ringraft.client.AdminOutcome;
import io.ringraft.client.RingraftClient;
import io.ringraft.server.kv.KvClient;
import io.ringraft.server.kv.KvProtocol;
import io.ringraft.server.kv.KvResponse;
import io.ringraft.storage.DurabilityPolicy;
import io.ringraft.testkit.history.CheckResult;
import io.ringraft.testkit.history.History;
import io.ringraft.testkit.history.LinearizabilityChecker;
import io.ringraft.testkit.history.OpKind;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A cluster of node processes that grows, shrinks and replaces a dead machine under client load:
 * 3 nodes; 2 new processes with empty data dirs and {@code --join} are added as learners (they
 * receive a snapshot over Aeron) and promoted to voters; 2 original members are removed, the
 * leader among them; one remaining node is killed with SIGKILL and replaced by a fresh process on
 * a new id and port. Writes are served throughout (the longest gap between acknowledged writes in
 * each step is reported), no acknowledged write is lost, and the client's history is
 * linearizable.
 */
class MembershipProcessTest
{
    private static final int CLUSTER_ID = 83;
    private static final int KEYS = 16;
    private static final long TIMEOUT_MS = 30_000;

    @TempDir
    Path dir;

    private LocalCluster cluster;
    private Load load;
    private RingraftClient adminClient;
    private final List<String> endpoints = new ArrayList<>();

    @AfterEach
    void stop() throws InterruptedException
    {
        if (load != null)
        {
            load.stopAndJoin();
        }
        if (cluster != null)
        {
            cluster.close();
        }
        if (adminClient != null)
        {
            adminClient.close();
        }
    }

    /**
     * One admin operation through the client library, by one client without a session (with its
     * own media driver), which stays usable while the test waits between operations.
     */
    private AdminOutcome admin(final Function<RingraftClient, AdminOutcome> operation)
    {
        if (adminClient == null)
        {
            adminClient = RingraftClient.connect(new RingraftClient.Context().endpoints(endpoints).clusterId(CLUSTER_ID).session(false));
        }
        return operation.apply(adminClient);
    }

    /** One client: puts and linearizable gets on a few keys, recorded for the checker; acknowledgement times for the gaps. */
    private static final class Load extends Thread
    {
        final History history = new History();
        final List<Long> acks = new ArrayList<>();
        final List<String> endpoints;
        volatile boolean stop;
        volatile Throwable failure;
        int writes;
        int reads;
        int unknown;

        Load(final List<String> endpoints)
        {
            super("membership-test-load");
            this.endpoints = endpoints;
        }

        @Override
        public void run()
        {
            try (KvClient client = new KvClient(new KvClient.Context().endpoints(endpoints).clusterId(CLUSTER_ID)
                .timeout(2, TimeUnit.SECONDS)))
            {
                int i = 0;
                while (!stop)
                {
                    i++;
                    final String key = "k" + (i % KEYS);
                    final boolean read = i % 5 == 0;
                    final String value = "v" + i;
                    final int op;
                    synchronized (history)
                    {
                        op = history.invoke(0, read ? OpKind.GET : OpKind.PUT, key, value, null, System.nanoTime());
                    }
                    final KvResponse r = read ? client.call(KvProtocol.GET, key, null, null, true) :
                        client.call(KvProtocol.PUT, key, value.getBytes(StandardCharsets.UTF_8), null, false);
                    final long now = System.nanoTime();
                    synchronized (history)
                    {
                        if (r.status() == KvProtocol.OK || (read && r.status() == KvProtocol.NOT_FOUND))
                        {
                            history.ok(op, read && r.status() == KvProtocol.OK ? r.valueText() : null, now);
                            if (read)
                            {
                                reads++;
                            }
                            else
                            {
                                writes++;
                                acks.add(now);
                            }
                        }
                        else if (r.status() == KvProtocol.NO_ANSWER || r.status() == KvProtocol.UNKNOWN_OUTCOME)
                        {
                            history.unknown(op);
                            unknown++;
                        }
                        else
                        {
                            history.fail(op, now);
                        }
                    }
                }
            }
            catch (final Throwable t)
            {
                failure = t;
            }
        }

        void stopAndJoin() throws InterruptedException
        {
            stop = true;
            join(30_000);
        }

        /** @return the longest time without an acknowledged write between {@code from} and {@code to} */
        long longestGapMs(final long from, final long to)
        {
            long last = from;
            long gap = 0;
            synchronized (history)
            {
                for (final long t : acks)
                {
                    if (t > from && t <= to)
                    {
                        gap = Math.max(gap, t - last);
                        last = t;
                    }
                }
            }
            return TimeUnit.NANOSECONDS.toMillis(Math.max(gap, to - last));
        }

        int acknowledged()
        {
            synchronized (history)
            {
                return writes;
            }
        }
    }

    private static AdminOutcome ok(final AdminOutcome r, final String what)
    {
        assertEquals(AdminStatus.OK, r.status(), what + ": " + r.statusName() + " " + r.message());
        return r;
    }

    private static long leaderOf(final AdminOutcome status)
    {
        final Matcher m = Pattern.compile(" leader (\\d+) ").matcher(status.message());
        assertTrue(m.find(), status.message());
        return Long.parseLong(m.group(1));
    }

    private long awaitLeader() throws InterruptedException
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline)
        {
            final AdminOutcome r = admin(c -> c.clusterStatus(Duration.ofMillis(2_000)));
            if (r.status() == AdminStatus.OK && leaderOf(r) > 0)
            {
                return leaderOf(r);
            }
            Thread.sleep(50);
        }
        throw new AssertionError("no leader within 30 s");
    }

    /** A new JVM on a loaded machine may take seconds to answer. */
    private void awaitAnswer(final NodeConfig node)
    {
        final AdminOutcome r = admin(c -> c.memberStatus(node.self().clientEndpoint(), Duration.ofMillis(30_000)));
        assertTrue(r.isOk() && r.message().contains("joining"), "node " + node.nodeId() + " waits to join: " + r + "; its output:\n" +
            cluster.output(node.nodeId()));
    }

    /** Waits until node {@code id} has applied at least {@code index}, read from its counters file. */
    private long awaitApplied(final long id, final long index) throws InterruptedException
    {
        final Path counters = cluster.config(id).dataDir().resolve(RingraftNode.COUNTERS_FILE);
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        long applied = -1;
        while (System.nanoTime() < deadline)
        {
            try
            {
                applied = counter(RaftCounters.readFile(counters), "applied index");
                if (applied >= index)
                {
                    return applied;
                }
            }
            catch (final IllegalArgumentException notYet)
            {
                // the node has not created its counters yet
            }
            Thread.sleep(50);
        }
        throw new AssertionError("node " + id + " applied " + applied + ", not " + index + ", within 30 s");
    }

    private static long counter(final Map<String, Long> counters, final String suffix)
    {
        return counters.entrySet().stream().filter(e -> e.getKey().endsWith(suffix)).mapToLong(Map.Entry::getValue).findFirst()
            .orElseThrow(() -> new AssertionError("no counter '" + suffix + "' in " + counters.keySet()));
    }

    private long commitIndex()
    {
        final AdminOutcome r = ok(admin(c -> c.clusterStatus(Duration.ofMillis(5_000))), "status");
        final Matcher m = Pattern.compile(" commit (\\d+) ").matcher(r.message());
        assertTrue(m.find(), r.message());
        return Long.parseLong(m.group(1));
    }

    @Test
    void growShrinkAndReplaceADeadNodeUnderLoad() throws Exception
    {
        // Small snapshots and log, so that joiners start from a snapshot; joiners take none of their own.
        cluster = new LocalCluster(3, CLUSTER_ID, dir, DurabilityPolicy.NONE, true, Map.of("snapshot.every", "300"), false);
        cluster.startAll();
        cluster.addJoiner(4, Map.of("snapshot.every", "0"));
        cluster.addJoiner(5, Map.of("snapshot.every", "0"));
        for (final long id : new long[]{3, 1, 2, 4, 5})
        {
            endpoints.add(cluster.config(id).self().clientEndpoint());
        }
        final Map<String, Long> windows = new LinkedHashMap<>();
        awaitLeader();
        load = new Load(endpoints);
        load.start();
        while (load.acknowledged() < 2_000 && load.failure == null)
        {
            Thread.sleep(20);
        }

        // Two new processes join with empty data dirs; the leader adds them as learners: a snapshot, then the log.
        long step = System.nanoTime();
        for (final long id : new long[]{4, 5})
        {
            cluster.start(id);
            final NodeConfig c = cluster.config(id);
            awaitAnswer(c);
            ok(admin(a -> a.addLearner(id, c.self().raftEndpoint(), c.self().clientEndpoint(), Duration.ofMillis(TIMEOUT_MS))),
                "add learner " + id + "; its output:\n" + cluster.output(id));
        }
        final long target = commitIndex();
        for (final long id : new long[]{4, 5})
        {
            awaitApplied(id, target);
            final Map<String, Long> counters = RaftCounters.readFile(cluster.config(id).dataDir().resolve(RingraftNode.COUNTERS_FILE));
            assertTrue(counter(counters, "snapshot index") > 0, "node " + id + " installed a snapshot sent over Aeron: " + counters);
        }
        windows.put("add 2 learners (snapshot install)", load.longestGapMs(step, System.nanoTime()));

        step = System.nanoTime();
        ok(admin(a -> a.promote(4, true, Duration.ofMillis(TIMEOUT_MS))), "promote 4");
        ok(admin(a -> a.promote(5, true, Duration.ofMillis(TIMEOUT_MS))), "promote 5");
        windows.put("promote to 5 voters", load.longestGapMs(step, System.nanoTime()));

        // Remove two originals, the leader among them (it hands leadership over first).
        step = System.nanoTime();
        final long leader = awaitLeader();
        assertTrue(leader >= 1 && leader <= 3 || leader == 4 || leader == 5, "leader " + leader);
        final long originalLeader = leader <= 3 ? leader : 1;
        final long other = originalLeader == 1 ? 2 : 1;
        ok(admin(a -> a.remove(other, Duration.ofMillis(TIMEOUT_MS))), "remove " + other);
        ok(admin(a -> a.remove(originalLeader, Duration.ofMillis(TIMEOUT_MS))), "remove " + originalLeader);
        windows.put("remove 2 originals incl. the leader", load.longestGapMs(step, System.nanoTime()));
        cluster.stop(other);
        cluster.stop(originalLeader);
        final long remainingOriginal = 6 - other - originalLeader;

        // Kill -9 a remaining node (not the client's first contact) and replace it with node 6 on a new port.
        step = System.nanoTime();
        final long victim = 4;
        cluster.kill(victim);
        final NodeConfig six = cluster.addJoiner(6, Map.of());
        cluster.start(6);
        awaitAnswer(six);
        ok(admin(a -> a.addLearner(6, six.self().raftEndpoint(), six.self().clientEndpoint(), Duration.ofMillis(TIMEOUT_MS))),
            "add learner 6");
        ok(admin(a -> a.promote(6, true, Duration.ofMillis(TIMEOUT_MS))), "promote 6");
        ok(admin(a -> a.remove(victim, Duration.ofMillis(TIMEOUT_MS))), "remove the dead node " + victim);
        windows.put("kill -9 node 4, replace it with node 6", load.longestGapMs(step, System.nanoTime()));

        final AdminOutcome status = ok(admin(a -> a.clusterStatus(Duration.ofMillis(5_000))), "status");
        assertTrue(status.message().contains("voters=[" + remainingOriginal + ", 5, 6]"), status.message());
        final long acknowledgedBefore = load.acknowledged();
        Thread.sleep(500);
        assertTrue(load.acknowledged() > acknowledgedBefore, "writes still served at the end");
        load.stopAndJoin();
        assertEquals(null, load.failure, "load client failed");

        // Every key read once more (linearizable) and checked with the history: no acknowledged write lost.
        try (KvClient client = new KvClient(new KvClient.Context().endpoint(cluster.config(5).self().clientEndpoint())
            .clusterId(CLUSTER_ID).timeout(10, TimeUnit.SECONDS)))
        {
            for (int k = 0; k < KEYS; k++)
            {
                final String key = "k" + k;
                final int op = load.history.invoke(1, OpKind.GET, key, null, null, System.nanoTime());
                final KvResponse r = client.call(KvProtocol.GET, key, null, null, true);
                assertTrue(r.status() == KvProtocol.OK || r.status() == KvProtocol.NOT_FOUND, r.toString());
                load.history.ok(op, r.status() == KvProtocol.OK ? r.valueText() : null, System.nanoTime());
            }
        }
        final CheckResult check = LinearizabilityChecker.check(load.history, 1_000_000);
        System.out.println("membership under load: " + load.writes + " writes acknowledged, " + load.reads + " linearizable reads, " +
            load.unknown + " of unknown outcome; longest gap without an acknowledged write per step (ms): " + windows +
            "; history " + check);
        assertTrue(check.isLinearizable(), check.toString());
    }
}
