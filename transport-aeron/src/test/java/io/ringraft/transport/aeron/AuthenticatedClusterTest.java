package io.ringraft.transport.aeron;

import io.ringraft.LogId;
import io.ringraft.Membership;
import io.ringraft.Raft;
import io.ringraft.RaftConfig;
import io.ringraft.RaftMetrics;
import io.ringraft.WriteResult;
import io.ringraft.statemachine.RaftStateMachine;
import io.ringraft.storage.InMemoryLogStorage;
import io.ringraft.storage.SnapshotMeta;
import io.ringraft.storage.SnapshotReader;
import io.ringraft.storage.SnapshotWriter;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Raft clusters over Aeron with authenticated frames: a key rotation under load changes no
 * leader, and a node given the wrong key never joins and says why.
 */
class AuthenticatedClusterTest
{
    private static final int CLUSTER = 31;
    static final String KEY_A = "5c0b7e1f2a3d4c5b6a79880716253443526170819f8eadbccbdaf9e8d7c6b5a4";
    static final String KEY_B = "91fe0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6071829304a5b6c7";

    @TempDir
    Path dir;

    private final List<Raft> nodes = new ArrayList<>();
    private final List<AeronRaftNetwork> networks = new ArrayList<>();
    private final List<String> log = new CopyOnWriteArrayList<>();

    @AfterEach
    void closeAll()
    {
        nodes.forEach(Raft::close);
    }

    /** Counts applied commands; snapshots hold the count. */
    static final class Counter implements RaftStateMachine
    {
        final AtomicLong applied = new AtomicLong();

        @Override
        public LogId lastApplied()
        {
            return LogId.ZERO;
        }

        @Override
        public int apply(final long index, final long term, final DirectBuffer payload, final int offset, final int length,
            final MutableDirectBuffer response)
        {
            applied.incrementAndGet();
            return 0;
        }

        @Override
        public void buildSnapshot(final SnapshotWriter writer)
        {
            final org.agrona.concurrent.UnsafeBuffer buffer = new org.agrona.concurrent.UnsafeBuffer(new byte[8]);
            buffer.putLong(0, applied.get());
            writer.write(buffer, 0, 8);
        }

        @Override
        public void installSnapshot(final SnapshotMeta meta, final SnapshotReader reader)
        {
            final org.agrona.concurrent.UnsafeBuffer buffer = new org.agrona.concurrent.UnsafeBuffer(new byte[8]);
            reader.read(0, buffer, 0, 8);
            applied.set(buffer.getLong(0));
        }
    }

    private Path keyFile(final String name, final String text) throws Exception
    {
        final Path file = dir.resolve(name);
        Files.writeString(file, text);
        return file;
    }

    private void start(final Map<Long, String> endpoints, final long id, final Path keyFile, final long keyCheckMs)
    {
        final AeronRaftNetwork network = new AeronRaftNetwork(new AeronTransportConfig()
            .nodeId(id).clusterId(CLUSTER).endpoints(endpoints).termLength(256 * 1024).embeddedDriver(true)
            .authKeyFile(keyFile).authEpochFile(dir.resolve("epoch-" + id)).authKeyCheckIntervalMs(keyCheckMs)
            .log(line -> log.add(line)));
        networks.add(network);
        nodes.add(Raft.start(new RaftConfig().nodeId(id).randomSeed(id * 7).electionTimeout(400, 800, TimeUnit.MILLISECONDS)
                .maxPayloadLength(16 * 1024),
            new InMemoryLogStorage(), network, new Counter(), Membership.of(1, 2, 3)));
    }

    private Raft leader() throws InterruptedException
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (System.nanoTime() < deadline)
        {
            for (final Raft n : nodes)
            {
                final RaftMetrics m = n.metrics();
                if (m.isLeader())
                {
                    return n;
                }
            }
            Thread.sleep(5);
        }
        throw new AssertionError("no leader within 20 s");
    }

    @Test
    void keyRotationUnderLoadChangesNoLeader() throws Exception
    {
        final Map<Long, String> endpoints = LoopbackPorts.endpoints(1, 2, 3);
        final List<Path> files = new ArrayList<>();
        for (long id = 1; id <= 3; id++)
        {
            final Path file = keyFile("node-" + id + ".key", "key.1 = " + KEY_A + "\n");
            files.add(file);
            start(endpoints, id, file, 0); // reloaded on command below, so each step is known complete
        }
        final Raft leader = leader();
        final long term = leader.metrics().term();

        final AtomicBoolean stop = new AtomicBoolean();
        final AtomicLong acknowledged = new AtomicLong();
        final AtomicLong failed = new AtomicLong();
        final Thread load = new Thread(() ->
        {
            final List<CompletableFuture<WriteResult>> window = new ArrayList<>();
            while (!stop.get())
            {
                for (int i = 0; i < 64; i++)
                {
                    window.add(leader.clientWrite(new byte[32]));
                }
                for (final CompletableFuture<WriteResult> f : window)
                {
                    final WriteResult r = f.join();
                    (r.isOk() ? acknowledged : failed).incrementAndGet();
                }
                window.clear();
            }
        }, "load");
        load.start();
        try
        {
            waitFor(() -> acknowledged.get() > 2_000, "writes before the rotation");
            // Step 1: every node accepts the new key, all still sign with the old one.
            rotate(files, "key.1 = " + KEY_A + "\nkey.2 = " + KEY_B + "\nsign = 1\n", 1);
            waitFor(acknowledged.get() + 2_000);
            // Step 2: every node signs with the new key.
            rotate(files, "key.1 = " + KEY_A + "\nkey.2 = " + KEY_B + "\nsign = 2\n", 2);
            waitFor(acknowledged.get() + 2_000);
            // Step 3: the old key is gone.
            rotate(files, "key.2 = " + KEY_B + "\n", 2);
            waitFor(acknowledged.get() + 2_000);
        }
        finally
        {
            stop.set(true);
            load.join();
        }
        for (final Raft node : nodes)
        {
            final RaftMetrics m = node.metrics();
            assertEquals(term, m.term(), "no election during the rotation, node " + m.nodeId());
            assertEquals(leader.nodeId(), m.leaderId());
        }
        assertEquals(0, failed.get(), "every write acknowledged");
        for (final AeronRaftNetwork network : networks)
        {
            final TransportCounters c = network.counters();
            assertEquals(0, c.dropped(DropReason.BAD_MAC) + c.dropped(DropReason.UNKNOWN_KEY) + c.dropped(DropReason.REPLAYED) +
                c.dropped(DropReason.OLD_EPOCH), "no genuine frame dropped: " + c);
        }
    }

    private void rotate(final List<Path> files, final String text, final int signing) throws Exception
    {
        for (int i = 0; i < files.size(); i++)
        {
            Files.writeString(files.get(i), text);
            assertTrue(networks.get(i).reloadKeys(), "node " + (i + 1) + " took the new keys");
            assertEquals(signing, networks.get(i).keys().signingKeyId());
        }
    }

    private void waitFor(final long target) throws InterruptedException
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline)
        {
            long applied = Long.MAX_VALUE;
            for (final Raft node : nodes)
            {
                applied = Math.min(applied, node.metrics().appliedIndex());
            }
            if (applied >= target)
            {
                return;
            }
            Thread.sleep(5);
        }
        throw new AssertionError("the cluster did not apply " + target + " entries in time");
    }

    private static void waitFor(final java.util.function.BooleanSupplier condition, final String what) throws InterruptedException
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!condition.getAsBoolean())
        {
            if (System.nanoTime() > deadline)
            {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(5);
        }
    }

    @Test
    void aNodeWithTheWrongKeyNeverJoinsAndSaysWhy() throws Exception
    {
        final Map<Long, String> endpoints = LoopbackPorts.endpoints(1, 2, 3);
        final Path good = keyFile("good.key", "key.1 = " + KEY_A + "\n");
        final Path wrong = keyFile("wrong.key", "key.1 = " + KEY_B + "\n");
        start(endpoints, 1, good, 1000);
        start(endpoints, 2, good, 1000);
        start(endpoints, 3, wrong, 1000);
        final Raft leader = leader();
        for (int i = 0; i < 100; i++)
        {
            assertTrue(leader.clientWrite(new byte[16]).get(10, TimeUnit.SECONDS).isOk());
        }
        final long committed = leader.metrics().committedIndex();
        final long term = leader.metrics().term();
        Thread.sleep(2_000); // several election timeouts of node 3
        final RaftMetrics outsider = nodes.get(2).metrics();
        assertTrue(outsider.lastLogIndex() < committed, "node 3 received none of the log: " + outsider);
        assertTrue(!outsider.isLeader(), "node 3 leads nothing");
        assertTrue(networks.get(2).counters().dropped(DropReason.BAD_MAC) > 0, "node 3 counts the frames it cannot authenticate");
        assertTrue(networks.get(0).counters().dropped(DropReason.BAD_MAC) + networks.get(1).counters().dropped(DropReason.BAD_MAC) > 0,
            "the members count node 3's frames");
        for (int i = 0; i < 2; i++)
        {
            assertEquals(term, nodes.get(i).metrics().term(), "node 3's elections do not disturb the members");
        }
        final String why = log.stream().filter(l -> l.startsWith("ringraft transport node 3:") && l.contains("MAC does not match"))
            .findFirst().orElse(null);
        assertTrue(why != null && why.contains("wrong.key") && why.contains("different key"), "node 3 says why: " + log);
        assertEquals(1, log.stream().filter(l -> l.startsWith("ringraft transport node 3:") && l.contains("BAD_MAC")).count(),
            "one line, not one per frame: " + log);
    }

}
