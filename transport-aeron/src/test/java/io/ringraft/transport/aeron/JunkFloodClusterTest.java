package io.ringraft.transport.aeron;

import io.aeron.Aeron;
import io.aeron.ChannelUriStringBuilder;
import io.aeron.ExclusivePublication;
import io.aeron.Publication;
import io.ringraft.Membership;
import io.ringraft.Raft;
import io.ringraft.RaftConfig;
import io.ringraft.RaftMetrics;
import io.ringraft.WriteResult;
import io.ringraft.engine.Role;
import io.ringraft.statemachine.RaftStateMachine;
import io.ringraft.storage.InMemoryLogStorage;
import io.ringraft.storage.SnapshotMeta;
import io.ringraft.storage.SnapshotReader;
import io.ringraft.storage.SnapshotWriter;
import io.ringraft.LogId;
import org.agrona.CloseHelper;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A million random and mutated frames at a live node of a three-node cluster over Aeron UDP: the
 * node drops and counts them all and keeps working, and afterwards the cluster still elects a
 * leader and commits writes.
 */
class JunkFloodClusterTest
{
    private static final int CLUSTER = 23;
    private static final int FRAMES = 1_000_000;

    private final List<Raft> nodes = new ArrayList<>();
    private final List<AutoCloseable> closeables = new ArrayList<>();

    @AfterEach
    void closeAll()
    {
        // The intruder's Aeron client first: one that outlives the driver it uses exits the JVM.
        closeables.forEach(CloseHelper::quietClose);
        nodes.forEach(Raft::close);
    }

    /** Counts applied commands. */
    private static final class Counter implements RaftStateMachine
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
            final UnsafeBuffer buffer = new UnsafeBuffer(new byte[8]);
            buffer.putLong(0, applied.get());
            writer.write(buffer, 0, 8);
        }

        @Override
        public void installSnapshot(final SnapshotMeta meta, final SnapshotReader reader)
        {
            final UnsafeBuffer buffer = new UnsafeBuffer(new byte[8]);
            reader.read(0, buffer, 0, 8);
            applied.set(buffer.getLong(0));
        }
    }

    private Raft leader() throws InterruptedException
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (System.nanoTime() < deadline)
        {
            for (final Raft n : nodes)
            {
                final RaftMetrics m = n.metrics();
                if (m.role() == Role.LEADER)
                {
                    return n;
                }
            }
            Thread.sleep(5);
        }
        throw new AssertionError("no leader within 20 s");
    }

    @Test
    void aMillionJunkFramesAtALiveNodeAreDroppedAndCountedAndTheClusterStillElectsAndCommits() throws Exception
    {
        final long seed = System.nanoTime();
        final Random random = new Random(seed);
        final Map<Long, String> endpoints = LoopbackPorts.endpoints(1, 2, 3);
        final List<AeronRaftNetwork> networks = new ArrayList<>();
        for (long id = 1; id <= 3; id++)
        {
            final AeronRaftNetwork network = new AeronRaftNetwork(new AeronTransportConfig()
                .nodeId(id).clusterId(CLUSTER).endpoints(endpoints).termLength(256 * 1024).embeddedDriver(true));
            networks.add(network);
            nodes.add(Raft.start(new RaftConfig().nodeId(id).randomSeed(seed + id).electionTimeout(300, 600, TimeUnit.MILLISECONDS)
                .maxPayloadLength(16 * 1024),
                new InMemoryLogStorage(), network, new Counter(), Membership.of(1, 2, 3)));
        }
        final AeronRaftNetwork target = networks.get(0);

        // The intruder writes raw frames through node 1's driver, over UDP, to node 1's endpoint.
        final Aeron intruder = Aeron.connect(new Aeron.Context().aeronDirectoryName(target.aeronDirectoryName()));
        closeables.add(intruder);
        final ExclusivePublication raw = intruder.addExclusivePublication(
            new ChannelUriStringBuilder().media("udp").endpoint(endpoints.get(1L)).termLength(256 * 1024).build(),
            target.config().streamId());
        final int max = target.maxMessageLength();
        final WireEncoder encoder = new WireEncoder(CLUSTER, max);
        // Like the node's network, it lets introductions from non-members through (so they are not counted as junk).
        final WireDecoder reference = new WireDecoder(CLUSTER, 1, id -> id == 2 || id == 3, max, null, null, null, id -> true);
        final RandomMessages messages = new RandomMessages(random);
        final UnsafeBuffer frame = new UnsafeBuffer(new byte[max]);

        final long droppedBefore = target.counters().droppedTotal();
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        int sent = 0;
        while (sent < FRAMES)
        {
            final int length = AeronRaftNetworkTest.junkOrValid(random, messages, encoder, frame, max);
            if (reference.decode(frame, 0, length) != null)
            {
                continue; // only frames the node must drop: valid ones with random terms would just be protocol noise
            }
            long result;
            while ((result = raw.offer(frame, 0, length)) < 0)
            {
                assertTrue(result == Publication.BACK_PRESSURED || result == Publication.NOT_CONNECTED ||
                    result == Publication.ADMIN_ACTION, "offer result " + result + " (seed " + seed + ")");
                LockSupport.parkNanos(10_000);
                assertTrue(System.nanoTime() < deadline, "intruder stuck at frame " + sent + " (seed " + seed + ")");
            }
            sent++;
        }
        final long expected = droppedBefore + FRAMES;
        while (target.counters().droppedTotal() < expected && System.nanoTime() < deadline)
        {
            Thread.sleep(10);
        }
        assertEquals(expected, target.counters().droppedTotal(), "every junk frame dropped and counted (seed " + seed + ")");

        // The cluster still elects: an election triggered on a follower brings a newer term, in which
        // a leader is elected (the flooded node takes part); and it commits.
        final Raft before = leader();
        final long termBefore = before.metrics().term();
        nodes.stream().filter(n -> n != before).findFirst().orElseThrow().triggerElection();
        Raft leader = leader();
        final long electionDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (leader.metrics().term() <= termBefore && System.nanoTime() < electionDeadline)
        {
            Thread.sleep(5);
            leader = leader();
        }
        assertTrue(leader.metrics().term() > termBefore, "a new election was won (seed " + seed + ")");
        int committed = 0;
        while (committed < 1000)
        {
            final WriteResult result = leader.clientWrite(new byte[64]).get(20, TimeUnit.SECONDS);
            if (result.isOk())
            {
                committed++;
            }
            else
            {
                leader = leader(); // leadership moved under the writes: go on with the new leader
                assertTrue(System.nanoTime() < deadline, "no progress: " + result + " (seed " + seed + ")");
            }
        }
        final long last = leader.metrics().lastLogIndex();
        for (final Raft n : nodes)
        {
            n.waitFor(m -> m.appliedIndex() >= last, Duration.ofSeconds(20));
        }
    }

    @Test
    void wellFormedHostileFramesAtAnAuthenticatedClusterAreAllDroppedAndCountedAndChangeNothing() throws Exception
    {
        final long seed = System.nanoTime();
        final Random random = new Random(seed);
        final java.nio.file.Path keys = java.nio.file.Files.createTempFile("cluster", ".key");
        final java.nio.file.Path forgerKeys = java.nio.file.Files.createTempFile("forger", ".key");
        closeables.add(() -> java.nio.file.Files.deleteIfExists(keys));
        closeables.add(() -> java.nio.file.Files.deleteIfExists(forgerKeys));
        java.nio.file.Files.writeString(keys, "key.1 = " + AuthenticatedClusterTest.KEY_A + "\n");
        java.nio.file.Files.writeString(forgerKeys, "key.1 = " + AuthenticatedClusterTest.KEY_B + "\n");
        final Map<Long, String> endpoints = LoopbackPorts.endpoints(1, 2, 3);
        final List<AeronRaftNetwork> networks = new ArrayList<>();
        for (long id = 1; id <= 3; id++)
        {
            final AeronRaftNetwork network = new AeronRaftNetwork(new AeronTransportConfig()
                .nodeId(id).clusterId(CLUSTER).endpoints(endpoints).termLength(256 * 1024).embeddedDriver(true).authKeyFile(keys));
            networks.add(network);
            nodes.add(Raft.start(new RaftConfig().nodeId(id).randomSeed(seed + id).electionTimeout(1000, 2000, TimeUnit.MILLISECONDS)
                .maxPayloadLength(16 * 1024),
                new InMemoryLogStorage(), network, new Counter(), Membership.of(1, 2, 3)));
        }
        final Raft leader = leader();
        final long term = leader.metrics().term();
        final AeronRaftNetwork target = networks.get((int)leader.nodeId() - 1);

        // Well-formed messages of every type from "members", with random terms, indexes and
        // entries (valid checksums): unsigned, or signed with another key.
        final Aeron intruder = Aeron.connect(new Aeron.Context().aeronDirectoryName(target.aeronDirectoryName()));
        closeables.add(intruder);
        final ExclusivePublication raw = intruder.addExclusivePublication(
            new ChannelUriStringBuilder().media("udp").endpoint(endpoints.get(leader.nodeId())).termLength(256 * 1024).build(),
            target.config().streamId());
        final int max = target.maxMessageLength();
        final WireEncoder plain = new WireEncoder(CLUSTER, max);
        final WireEncoder signing = new WireEncoder(CLUSTER, max - FrameAuthenticator.TRAILER_LENGTH, WireFormat.FLAG_AUTHENTICATED);
        final FrameAuthenticator forger = new FrameAuthenticator(KeyRing.load(forgerKeys));
        final RandomMessages messages = new RandomMessages(random);
        final UnsafeBuffer frame = new UnsafeBuffer(new byte[max]);
        final int frames = 50_000;
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        for (int sent = 0; sent < frames; sent++)
        {
            final long from = leader.nodeId() == 1 ? 2 + random.nextInt(2) : 1;
            final io.ringraft.network.RaftMessage message = messages.next(from, leader.nodeId());
            int length;
            if (random.nextBoolean())
            {
                length = plain.encode(message, frame, 0);
            }
            else
            {
                length = signing.encode(message, frame, 0);
                length += forger.sign(frame, 0, length, 1, sent + 1);
            }
            while (raw.offer(frame, 0, length) < 0)
            {
                LockSupport.parkNanos(10_000);
                assertTrue(System.nanoTime() < deadline, "intruder stuck at frame " + sent + " (seed " + seed + ")");
            }
        }
        final TransportCounters counters = target.counters();
        while (counters.dropped(DropReason.UNAUTHENTICATED) + counters.dropped(DropReason.BAD_MAC) < frames && System.nanoTime() < deadline)
        {
            Thread.sleep(10);
        }
        assertEquals(frames, counters.dropped(DropReason.UNAUTHENTICATED) + counters.dropped(DropReason.BAD_MAC),
            "every hostile frame dropped and counted: " + counters + " (seed " + seed + ")");
        assertEquals(0, leader.metrics().droppedInput().values().stream().mapToLong(Long::longValue).sum(), "none reached the engine");
        for (final Raft node : nodes)
        {
            assertEquals(term, node.metrics().term(), "no election (seed " + seed + ")");
        }
        for (int i = 0; i < 100; i++)
        {
            assertTrue(leader.clientWrite(new byte[64]).get(20, TimeUnit.SECONDS).isOk(), "the cluster commits (seed " + seed + ")");
        }
    }
}
