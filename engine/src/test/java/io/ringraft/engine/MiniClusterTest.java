package io.ringraft.engine;

import io.ringraft.Entry;
import io.ringraft.EntryBatch;
import io.ringraft.EntryType;
import io.ringraft.LogId;
import io.ringraft.Membership;
import io.ringraft.Vote;
import io.ringraft.network.AppendEntriesRequest;
import io.ringraft.network.RaftMessage;
import io.ringraft.storage.InMemoryLogStorage;
import org.junit.jupiter.api.Test;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Engines wired to each other with instant, reliable delivery and synchronous durable logs:
 * the smallest end-to-end check that elections and replication fit together. The simulator in
 * the testkit does the same under faults.
 */
class MiniClusterTest
{
    private static final long MS = 1_000_000;

    private final Map<Long, Node> nodes = new HashMap<>();
    private final ArrayDeque<RaftMessage> network = new ArrayDeque<>();
    private long now;

    private final class Node implements EngineOutput
    {
        final long id;
        final InMemoryLogStorage log = new InMemoryLogStorage();
        final List<Entry> applied = new ArrayList<>();
        final Engine engine;
        byte[][] pending;

        Node(final long id, final Membership membership)
        {
            this.id = id;
            final EngineConfig config = new EngineConfig().nodeId(id).electionTimeoutMinNanos(150 * MS).electionTimeoutMaxNanos(300 * MS)
                .heartbeatIntervalNanos(50 * MS).maxEntriesPerAppend(7).maxInflightAppends(3);
            engine = new Engine(config, InitialState.pristine(), new SplittableRandom(id), this);
            engine.initialize(membership);
            engine.start(0);
        }

        @Override
        public void saveVote(final Vote vote)
        {
            log.saveVote(vote);
        }

        @Override
        public void appendEntries(final EntryBatch entries, final int from)
        {
            entries.toList().subList(from, entries.size()).forEach(log::append);
        }

        @Override
        public void appendClientEntries(final long term, final long firstIndex, final int count)
        {
            for (int i = 0; i < count; i++)
            {
                log.append(new Entry(term, firstIndex + i, EntryType.NORMAL, pending[i]));
            }
        }

        @Override
        public void truncateLog(final long fromIndex)
        {
            log.truncateSuffix(fromIndex);
        }

        @Override
        public void send(final RaftMessage message)
        {
            network.add(message.copy());
        }

        @Override
        public void replicate(final long peer, final long term, final long prevLogTerm, final long prevLogIndex, final long fromIndex,
            final long toIndexExclusive, final long leaderCommit, final long seq)
        {
            final List<Entry> entries = new ArrayList<>();
            for (long i = fromIndex; i < toIndexExclusive; i++)
            {
                entries.add(log.entry(i));
            }
            network.add(new AppendEntriesRequest(id, peer, term, new LogId(prevLogTerm, prevLogIndex), leaderCommit, seq, entries));
        }

        @Override
        public void apply(final long fromIndex, final long toIndex)
        {
            for (long i = fromIndex; i <= toIndex; i++)
            {
                assertEquals(applied.size() + 1, i, "apply order on node " + id);
                applied.add(log.entry(i));
            }
        }

        @Override
        public void readIndexReady(final long readId, final long readIndex)
        {
        }

        @Override
        public void readIndexFailed(final long readId, final long leaderId)
        {
        }
    }

    private void run(final long untilNanos)
    {
        while (now < untilNanos)
        {
            now += MS;
            for (final Node n : nodes.values())
            {
                n.engine.tick(now);
                n.engine.onLogFlushed(n.log.flush());
            }
            while (!network.isEmpty())
            {
                final RaftMessage m = network.poll();
                final Node to = nodes.get(m.to());
                to.engine.tick(now);
                to.engine.handle(m);
                to.engine.onLogFlushed(to.log.flush());
            }
        }
    }

    private Node leader()
    {
        Node leader = null;
        for (final Node n : nodes.values())
        {
            if (n.engine.role() == Role.LEADER)
            {
                assertTrue(leader == null || leader.engine.currentTerm() != n.engine.currentTerm(), "two leaders in one term");
                if (leader == null || n.engine.currentTerm() > leader.engine.currentTerm())
                {
                    leader = n;
                }
            }
        }
        return leader;
    }

    @Test
    void electsOneLeaderAndReplicatesWritesToEveryNode()
    {
        final Membership membership = Membership.of(1, 2, 3);
        for (long id = 1; id <= 3; id++)
        {
            nodes.put(id, new Node(id, membership));
        }
        run(1000 * MS);
        final Node leader = leader();
        assertTrue(leader != null, "a leader is elected");
        for (int i = 0; i < 100; i++)
        {
            leader.pending = new byte[][]{{(byte)i}, {(byte)(i + 100)}};
            final long first = leader.engine.clientWrite(2);
            assertTrue(first > 0);
            if (i % 10 == 0)
            {
                run(now + 2 * MS);
            }
        }
        run(now + 500 * MS);
        final long last = leader.engine.lastLogId().index();
        for (final Node n : nodes.values())
        {
            assertEquals(last, n.engine.committedIndex(), "committed on node " + n.id);
            assertEquals(last, n.applied.size(), "applied on node " + n.id);
            assertEquals(leader.applied, n.applied, "same entries on node " + n.id);
        }
        assertEquals(200, leader.applied.stream().filter(e -> e.type() == EntryType.NORMAL).count());
    }

    @Test
    void singleNodeClusterCommitsAlone()
    {
        nodes.put(1L, new Node(1, Membership.of(1)));
        run(400 * MS);
        final Node leader = leader();
        assertEquals(1, leader.id);
        leader.pending = new byte[][]{{42}};
        final long index = leader.engine.clientWrite(1);
        run(now + MS);
        assertEquals(index, leader.engine.committedIndex());
        assertEquals(index, leader.applied.size());
    }
}
