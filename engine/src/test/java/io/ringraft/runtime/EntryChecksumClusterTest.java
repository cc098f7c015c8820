package io.ringraft.runtime;

import io.ringraft.Membership;
import io.ringraft.Raft;
import io.ringraft.RaftConfig;
import io.ringraft.WriteResult;
import io.ringraft.engine.InputDropReason;
import io.ringraft.network.AppendEntriesRequest;
import io.ringraft.network.InJvmNetwork;
import io.ringraft.network.RaftMessage;
import io.ringraft.network.RaftNetwork;
import io.ringraft.storage.InMemoryLogStorage;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The leader's CRC32C travels with each entry: a network that flips bits in the entries it
 * carries (bits UDP's checksum would miss) gets every corrupted batch dropped and counted by the
 * follower, the leader sends the entries again, and every node ends with the same, intact commands.
 */
class EntryChecksumClusterTest
{
    private final InJvmNetwork network = new InJvmNetwork(4096);
    private final List<Raft> nodes = new ArrayList<>();
    private final List<RecordingStateMachine> machines = new ArrayList<>();

    @AfterEach
    void closeAll()
    {
        nodes.forEach(Raft::close);
    }

    /** Sends a copy with one payload bit flipped for a third of the AppendEntries with entries. */
    private static final class BitFlipping implements RaftNetwork
    {
        private final RaftNetwork delegate;
        private final SplittableRandom random;
        private final AtomicInteger corrupted;

        BitFlipping(final RaftNetwork delegate, final long seed, final AtomicInteger corrupted)
        {
            this.delegate = delegate;
            this.random = new SplittableRandom(seed);
            this.corrupted = corrupted;
        }

        @Override
        public int send(final RaftMessage message)
        {
            if (message instanceof AppendEntriesRequest request && !request.entries().isEmpty() &&
                random.nextInt(3) == 0)
            {
                final AppendEntriesRequest copy = request.copy();
                final int i = random.nextInt(copy.entries().size());
                final int length = copy.entries().payloadLength(i);
                if (length > 0)
                {
                    final UnsafeBuffer bytes = (UnsafeBuffer)copy.entries().buffer();
                    final int at = copy.entries().payloadOffset(i) + random.nextInt(length);
                    bytes.putByte(at, (byte)(bytes.getByte(at) ^ (1 << random.nextInt(8))));
                    corrupted.incrementAndGet();
                    return delegate.send(copy);
                }
            }
            return delegate.send(message);
        }

        @Override
        public int poll(final MessageHandler handler, final int limit)
        {
            return delegate.poll(handler, limit);
        }

        @Override
        public int maxMessageLength()
        {
            return delegate.maxMessageLength();
        }

        @Override
        public void close()
        {
            delegate.close();
        }
    }

    private static byte[] command(final long value)
    {
        final byte[] bytes = new byte[16];
        new UnsafeBuffer(bytes).putLong(0, value);
        return bytes;
    }

    @Test
    void corruptedEntriesAreDroppedCountedAndSentAgain() throws Exception
    {
        final AtomicInteger corrupted = new AtomicInteger();
        final Membership members = Membership.of(1, 2, 3);
        for (long id = 1; id <= 3; id++)
        {
            machines.add(new RecordingStateMachine());
            nodes.add(Raft.start(new RaftConfig().nodeId(id).electionTimeout(300, 600, TimeUnit.MILLISECONDS)
                    .heartbeatInterval(30, TimeUnit.MILLISECONDS).randomSeed(id * 17),
                new InMemoryLogStorage(), new BitFlipping(network.endpoint(id), id, corrupted), machines.get((int)id - 1), members));
        }
        nodes.get(0).waitFor(m -> m.leaderId() != 0, Duration.ofSeconds(10));
        Raft leader = null;
        while (leader == null)
        {
            for (final Raft node : nodes)
            {
                leader = node.metrics().isLeader() ? node : leader;
            }
            Thread.sleep(5);
        }
        final List<CompletableFuture<WriteResult>> results = new ArrayList<>();
        for (int i = 0; i < 2_000; i++)
        {
            results.add(leader.clientWrite(command(i)));
        }
        int ok = 0;
        for (final CompletableFuture<WriteResult> r : results)
        {
            ok += r.get(20, TimeUnit.SECONDS).isOk() ? 1 : 0;
        }
        assertTrue(ok > 0, "writes acknowledged");
        final long last = leader.metrics().lastLogIndex();
        for (final Raft node : nodes)
        {
            node.waitFor(m -> m.appliedIndex() >= last, Duration.ofSeconds(20));
        }
        assertTrue(corrupted.get() > 0, "the network corrupted some batches");
        long dropped = 0;
        for (final Raft node : nodes)
        {
            dropped += node.metrics().droppedInput().get(InputDropReason.ENTRY_CHECKSUM);
        }
        assertTrue(dropped > 0, "the followers dropped corrupted batches: " + dropped + " of " + corrupted.get());
        assertEquals(machines.get(0).commands(), machines.get(1).commands(), "every node holds the intact commands");
        assertEquals(machines.get(0).commands(), machines.get(2).commands(), "every node holds the intact commands");
        assertEquals(2_000, machines.get(0).commands().stream().filter(c -> c >= 0 && c < 2_000).distinct().count(),
            "every command once, none altered");
    }
}
