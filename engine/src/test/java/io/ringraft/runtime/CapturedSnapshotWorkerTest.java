package io.ringraft.runtime;

import io.ringraft.LogId;
import io.ringraft.Membership;
import io.ringraft.RaftEventListener;
import io.ringraft.storage.InMemorySnapshotStore;
import io.ringraft.storage.SnapshotMeta;
import io.ringraft.storage.SnapshotWriter;
import com.lmax.disruptor.RingBuffer;
import com.lmax.disruptor.YieldingWaitStrategy;
import org.agrona.concurrent.ManyToOneConcurrentArrayQueue;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The state-machine worker with a state machine that captures: entries go on being applied while the capture
 * is written, and a snapshot to install waits in the ring until the build is done (one snapshot at a time).
 */
class CapturedSnapshotWorkerTest
{
    @Test
    void entriesAreAppliedDuringTheBuildAndAnInstallWaitsForIt() throws Exception
    {
        final CapturingStateMachine machine = new CapturingStateMachine();
        final InMemorySnapshotStore store = new InMemorySnapshotStore();
        // A snapshot from a leader, to install: commands 100 and 101 up to index 50.
        final SnapshotMeta fromLeader;
        try (SnapshotWriter writer = store.create(new SnapshotMeta(new LogId(2, 50), Membership.of(1), "leader-50", -1, 0)))
        {
            final UnsafeBuffer b = new UnsafeBuffer(new byte[8]);
            b.putLong(0, 100);
            writer.write(b, 0, 8);
            b.putLong(0, 101);
            writer.write(b, 0, 8);
            fromLeader = writer.commit();
        }
        final RingBuffer<ApplyEvent> ring = RingBuffer.createSingleProducer(ApplyEvent::new, 64, new YieldingWaitStrategy());
        final RaftCounters counters = new RaftCounters(1, 64, null);
        final FailStop failStop = new FailStop(1, Throwable::printStackTrace, RaftEventListener.NONE, counters);
        final ManyToOneConcurrentArrayQueue<Object> toCore = new ManyToOneConcurrentArrayQueue<>(16);
        final SnapshotBuilder builder = new SnapshotBuilder(1, machine, store, null);
        final StateMachineWorker worker = new StateMachineWorker(1, machine, store, ring, counters.applied, LogId.ZERO,
            new PayloadBudget(1024, 1 << 20), toCore, failStop, () -> { }, builder, System::nanoTime, 1_000_000);
        try
        {
            entry(ring, 1, 1);
            entry(ring, 2, 2);
            publish(ring, ApplyEvent.BUILD_SNAPSHOT, null);
            entry(ring, 3, 3);
            publish(ring, ApplyEvent.INSTALL_SNAPSHOT, fromLeader);
            for (int i = 0; i < 10; i++)
            {
                worker.doWork();
            }
            assertEquals(List.of(1L, 2L, 3L), machine.commands(), "entry 3 applied while the capture is written; the install waits");
            assertEquals(0, machine.snapshotsInstalled());

            machine.release.countDown();
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (machine.snapshotsInstalled() == 0)
            {
                assertTrue(System.nanoTime() < deadline, "the install never ran");
                worker.doWork();
                Thread.sleep(1);
            }
            final SnapshotMeta built = (SnapshotMeta)assertInstanceOf(SnapshotMeta.class, toCore.poll());
            assertEquals(2, built.lastIncluded().index(), "the snapshot of the state at the capture");
            assertEquals(List.of(100L, 101L), machine.commands(), "then the leader's snapshot was installed");
            assertEquals(50, counters.applied.get());
        }
        finally
        {
            builder.close();
        }
    }

    private static void entry(final RingBuffer<ApplyEvent> ring, final long index, final long command)
    {
        final long seq = ring.next();
        final ApplyEvent e = ring.get(seq);
        e.type = ApplyEvent.ENTRY;
        e.index = index;
        e.term = 1;
        e.normal = true;
        e.payload.putLong(0, command);
        e.length = 8;
        ring.publish(seq);
    }

    private static void publish(final RingBuffer<ApplyEvent> ring, final int type, final SnapshotMeta snapshot)
    {
        final long seq = ring.next();
        final ApplyEvent e = ring.get(seq);
        e.type = type;
        e.membership = Membership.of(1);
        e.snapshot = snapshot;
        ring.publish(seq);
    }
}
