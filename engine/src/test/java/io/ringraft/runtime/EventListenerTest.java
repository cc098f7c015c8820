package io.ringraft.runtime;

import io.ringraft.Membership;
import io.ringraft.Raft;
import io.ringraft.RaftConfig;
import io.ringraft.RaftEventListener;
import io.ringraft.ThreadingMode;
import io.ringraft.WriteStatus;
import io.ringraft.engine.Role;
import io.ringraft.network.InJvmNetwork;
import io.ringraft.storage.InMemoryLogStorage;
import io.ringraft.storage.SnapshotMeta;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The event listener hears of role, leader, term, membership, snapshot and fatal changes, on the documented threads. */
class EventListenerTest
{
    private final InJvmNetwork network = new InJvmNetwork(4096);
    private final List<Raft> nodes = new ArrayList<>();
    private final List<Throwable> reported = new CopyOnWriteArrayList<>();

    @AfterEach
    void closeAll()
    {
        nodes.forEach(Raft::close);
    }

    /** One event as the listener saw it, with the thread it came on. */
    private record Event(String kind, long nodeId, Role role, long term, long leaderId, Membership membership, SnapshotMeta snapshot,
        Throwable cause, String thread)
    {
    }

    /** Records every event. */
    private static class Recorder implements RaftEventListener
    {
        final List<Event> events = new CopyOnWriteArrayList<>();

        private void add(final String kind, final long nodeId, final Role role, final long term, final long leaderId,
            final Membership membership, final SnapshotMeta snapshot, final Throwable cause)
        {
            events.add(new Event(kind, nodeId, role, term, leaderId, membership, snapshot, cause, Thread.currentThread().getName()));
        }

        @Override
        public void onRoleChange(final long nodeId, final Role role, final long term, final long leaderId)
        {
            add("role", nodeId, role, term, leaderId, null, null, null);
        }

        @Override
        public void onMembershipChange(final long nodeId, final Membership membership)
        {
            add("membership", nodeId, null, 0, 0, membership, null, null);
        }

        @Override
        public void onSnapshotBuilt(final long nodeId, final SnapshotMeta meta)
        {
            add("built", nodeId, null, 0, 0, null, meta, null);
        }

        @Override
        public void onSnapshotInstalled(final long nodeId, final SnapshotMeta meta)
        {
            add("installed", nodeId, null, 0, 0, null, meta, null);
        }

        @Override
        public void onFatal(final long nodeId, final Throwable cause)
        {
            add("fatal", nodeId, null, 0, 0, null, null, cause);
        }

        Event await(final Predicate<Event> condition, final String what) throws InterruptedException
        {
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (System.nanoTime() < deadline)
            {
                for (final Event e : events)
                {
                    if (condition.test(e))
                    {
                        return e;
                    }
                }
                Thread.sleep(2);
            }
            throw new AssertionError("no event " + what + " in " + events);
        }
    }

    private RaftConfig config(final long id)
    {
        return new RaftConfig().nodeId(id).threadingMode(ThreadingMode.DEDICATED).electionTimeout(500, 1000, TimeUnit.MILLISECONDS)
            .heartbeatInterval(50, TimeUnit.MILLISECONDS).randomSeed(id * 7).errorHandler(reported::add);
    }

    private static byte[] command(final long value)
    {
        final byte[] bytes = new byte[16];
        new UnsafeBuffer(bytes).putLong(0, value);
        return bytes;
    }

    private Raft leader() throws InterruptedException
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (System.nanoTime() < deadline)
        {
            for (final Raft n : nodes)
            {
                if (n.role() == Role.LEADER)
                {
                    return n;
                }
            }
            Thread.sleep(2);
        }
        throw new AssertionError("no leader");
    }

    /** @return the listeners of three started nodes, in node order */
    private List<Recorder> startThreeNodes()
    {
        final List<Recorder> recorders = new ArrayList<>();
        for (long id = 1; id <= 3; id++)
        {
            final Recorder recorder = new Recorder();
            recorders.add(recorder);
            nodes.add(Raft.start(config(id).eventListener(recorder).logRetainEntries(10), new InMemoryLogStorage(), network.endpoint(id),
                new RecordingStateMachine(), Membership.of(1, 2, 3)));
        }
        return recorders;
    }

    @Test
    void roleLeaderTermMembershipAndSnapshotEventsComeOnTheCoreThread() throws Exception
    {
        final List<Recorder> recorders = startThreeNodes();
        final Raft leader = leader();
        final long term = leader.term();
        for (int i = 0; i < nodes.size(); i++)
        {
            final Raft n = nodes.get(i);
            final Recorder r = recorders.get(i);
            final Event role = r.await(e -> e.kind().equals("role") && e.leaderId() == leader.nodeId() && e.term() == term,
                "naming leader " + leader.nodeId() + " in term " + term);
            assertEquals(n == leader ? Role.LEADER : Role.FOLLOWER, role.role());
            assertEquals("ringraft-core-" + n.nodeId(), role.thread(), "role events come on the core thread");
            final Event membership = r.await(e -> e.kind().equals("membership"), "membership at start");
            org.junit.jupiter.api.Assertions.assertArrayEquals(new long[] {1, 2, 3}, membership.membership().voters());
        }

        // A new leader: every node hears of the new term and leader.
        final Raft other = nodes.stream().filter(n -> n != leader).findFirst().orElseThrow();
        other.triggerElection();
        Raft elected = leader();
        final long electionDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (elected.term() <= term && System.nanoTime() < electionDeadline)
        {
            Thread.sleep(2);
            elected = leader();
        }
        final Raft next = elected;
        assertTrue(next.term() > term, "a new term's leader");
        for (final Recorder r : recorders)
        {
            r.await(e -> e.kind().equals("role") && e.term() > term && e.leaderId() != io.ringraft.Vote.NO_NODE, "a later term with a leader");
        }

        // Membership change: a learner joins.
        final int nextIndex = nodes.indexOf(next);
        io.ringraft.AdminResult added = next.addLearner(4, null, Duration.ofSeconds(10)).get(20, TimeUnit.SECONDS);
        for (int attempt = 0; !added.isOk() && attempt < 5; attempt++)
        {
            added = leader().addLearner(4, null, Duration.ofSeconds(10)).get(20, TimeUnit.SECONDS); // leadership moved under load
        }
        assertTrue(added.isOk(), added.toString());
        final Event joined = recorders.get(nextIndex).await(e -> e.kind().equals("membership") && java.util.Arrays.stream(e.membership().learners()).anyMatch(l -> l == 4),
            "membership with learner 4");
        assertEquals("ringraft-core-" + next.nodeId(), joined.thread());

        // A snapshot built on request.
        int written = 0;
        while (written < 100)
        {
            if (leader().clientWrite(command(written)).get(10, TimeUnit.SECONDS).isOk())
            {
                written++;
            }
        }
        final SnapshotMeta built = next.triggerSnapshot().get(10, TimeUnit.SECONDS);
        final Event snapshot = recorders.get(nextIndex).await(e -> e.kind().equals("built"), "snapshot built");
        assertEquals(built, snapshot.snapshot());
        assertEquals(List.of(), reported);
    }

    @Test
    void aFollowerThatMissedThePurgedLogHearsOfTheSnapshotItInstalls() throws Exception
    {
        final List<Recorder> recorders = startThreeNodes();
        final Raft first = leader();
        final Raft lagging = nodes.stream().filter(n -> n != first).findFirst().orElseThrow();
        network.isolate(lagging.nodeId());
        int written = 0;
        while (written < 300)
        {
            if (leader().clientWrite(command(written)).get(10, TimeUnit.SECONDS).isOk())
            {
                written++;
            }
        }
        // Every node that can lead snapshots and purges, so the lagging one needs the snapshot.
        for (final Raft n : nodes)
        {
            if (n != lagging)
            {
                n.triggerSnapshot().get(10, TimeUnit.SECONDS);
            }
        }
        network.heal();
        final Event installed = recorders.get(nodes.indexOf(lagging)).await(e -> e.kind().equals("installed"), "snapshot installed");
        assertTrue(installed.snapshot().lastIncluded().index() >= 300, installed.toString());
        assertEquals("ringraft-core-" + lagging.nodeId(), installed.thread());
    }

    @Test
    void aFatalEventComesOnceBeforeTheCallsAreAnsweredAndAThrowingListenerDoesNotStopTheNode() throws Exception
    {
        final Recorder recorder = new Recorder()
        {
            @Override
            public void onRoleChange(final long nodeId, final Role role, final long term, final long leaderId)
            {
                super.onRoleChange(nodeId, role, term, leaderId);
                throw new IllegalStateException("listener bug");
            }
        };
        final RecordingStateMachine machine = new RecordingStateMachine()
        {
            @Override
            public int apply(final long index, final long term, final DirectBuffer payload, final int offset, final int length,
                final MutableDirectBuffer response)
            {
                if (length >= 8 && payload.getLong(offset) == 13)
                {
                    throw new IllegalStateException("cannot apply 13");
                }
                return super.apply(index, term, payload, offset, length, response);
            }
        };
        final Raft node = Raft.start(config(1).eventListener(recorder), new InMemoryLogStorage(), network.endpoint(1), machine,
            Membership.of(1));
        nodes.add(node);
        node.waitFor(m -> m.isLeader(), Duration.ofSeconds(10));
        for (int i = 0; i < 10; i++)
        {
            assertEquals(WriteStatus.OK, node.clientWrite(command(i)).get(10, TimeUnit.SECONDS).status(), "the node goes on");
        }
        assertTrue(reported.stream().anyMatch(t -> "listener bug".equals(t.getMessage())), reported.toString());

        assertEquals(WriteStatus.FATAL, node.clientWrite(command(13)).get(10, TimeUnit.SECONDS).status());
        final List<Event> fatal = recorder.events.stream().filter(e -> e.kind().equals("fatal")).toList();
        assertEquals(1, fatal.size(), recorder.events.toString());
        assertEquals(node.failure(), fatal.get(0).cause());
        assertEquals("ringraft-sm-1", fatal.get(0).thread(), "called on the thread that failed");
    }
}
