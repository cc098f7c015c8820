package io.ringraft.runtime;

import io.ringraft.Entry;
import io.ringraft.EntryType;
import io.ringraft.LogId;
import io.ringraft.Membership;
import io.ringraft.Raft;
import io.ringraft.RaftConfig;
import io.ringraft.RaftMetrics;
import io.ringraft.WriteResult;
import io.ringraft.WriteStatus;
import io.ringraft.engine.InputDropReason;
import io.ringraft.network.AppendEntriesRequest;
import io.ringraft.network.InJvmNetwork;
import io.ringraft.network.RaftNetwork;
import io.ringraft.storage.InMemoryLogStorage;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A message that once made a node throw (and, in RaftCore, die) is dropped and counted by the
 * running node, which goes on serving writes: the members are 1, 2 and 3, and the test holds
 * node 3's endpoint to forge messages from it.
 */
class ForgedInputTest
{
    private final InJvmNetwork network = new InJvmNetwork(4096);
    private final List<Raft> nodes = new ArrayList<>();
    private final List<RecordingStateMachine> machines = new ArrayList<>();

    private static byte[] command(final long value)
    {
        final byte[] bytes = new byte[8];
        new UnsafeBuffer(bytes).putLong(0, value);
        return bytes;
    }

    @AfterEach
    void closeAll()
    {
        nodes.forEach(Raft::close);
    }

    @Test
    void secondLeaderAndTruncationOfCommittedEntriesAreDroppedAndCounted() throws Exception
    {
        final Membership members = Membership.of(1, 2, 3);
        for (long id = 1; id <= 2; id++)
        {
            machines.add(new RecordingStateMachine());
            nodes.add(Raft.start(new RaftConfig().nodeId(id).electionTimeout(150, 300, TimeUnit.MILLISECONDS)
                .heartbeatInterval(30, TimeUnit.MILLISECONDS).randomSeed(id * 31), new InMemoryLogStorage(), network.endpoint(id),
                machines.get((int)id - 1), members));
        }
        final RaftNetwork forger = network.endpoint(3);
        final Raft leader = nodes.get(0).waitFor(m -> m.leaderId() != 0, Duration.ofSeconds(10)).leaderId() == 1 ? nodes.get(0) : nodes.get(1);
        for (int i = 0; i < 20; i++)
        {
            assertEquals(WriteStatus.OK, leader.clientWrite(command(i)).get(10, TimeUnit.SECONDS).status());
        }
        final RaftMetrics before = leader.metrics();
        final Raft follower = leader == nodes.get(0) ? nodes.get(1) : nodes.get(0);
        follower.waitFor(m -> m.committedIndex() >= before.committedIndex(), Duration.ofSeconds(10));
        final long term = before.term();

        // To the leader: "node 3 leads your term too".
        forger.send(new AppendEntriesRequest(3, before.nodeId(), term, new LogId(term, before.lastLogIndex()), before.committedIndex(), 1,
            List.of(new Entry(term, before.lastLogIndex() + 1, EntryType.NORMAL, command(999)))));
        // To the follower, from a "leader" of a later term: replace committed entry 2.
        forger.send(new AppendEntriesRequest(3, follower.metrics().nodeId(), term + 1, new LogId(0, 1), before.committedIndex(), 1,
            List.of(new Entry(term + 1, 2, EntryType.NORMAL, command(999)))));

        leader.waitFor(m -> m.droppedInput().get(InputDropReason.SECOND_LEADER) == 1, Duration.ofSeconds(10));
        follower.waitFor(m -> m.droppedInput().get(InputDropReason.TRUNCATES_COMMITTED) == 1, Duration.ofSeconds(10));

        // Both nodes are alive: the cluster (a new leader of term + 1 if the follower stood) commits again.
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        boolean written = false;
        while (!written && System.nanoTime() < deadline)
        {
            for (final Raft node : nodes)
            {
                final WriteResult r = node.clientWrite(command(42)).get(10, TimeUnit.SECONDS);
                written |= r.status() == WriteStatus.OK;
            }
        }
        assertTrue(written, "a write commits after the forgeries");
        final long committed = Math.max(nodes.get(0).metrics().committedIndex(), nodes.get(1).metrics().committedIndex());
        for (final Raft node : nodes)
        {
            node.waitFor(m -> m.appliedIndex() >= committed, Duration.ofSeconds(10));
        }
        final List<Long> applied = machines.get(0).commands();
        assertEquals(applied.subList(0, Math.min(applied.size(), machines.get(1).commands().size())),
            machines.get(1).commands().subList(0, Math.min(applied.size(), machines.get(1).commands().size())),
            "both nodes applied the same commands");
        assertTrue(applied.containsAll(List.of(0L, 19L, 42L)) && !applied.contains(999L), "the genuine commands, no forged one: " + applied);
    }
}
