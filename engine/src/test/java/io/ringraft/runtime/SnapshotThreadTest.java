package io.ringraft.runtime;

import io.ringraft.Membership;
import io.ringraft.Raft;
import io.ringraft.RaftConfig;
import io.ringraft.ThreadingMode;
import io.ringraft.WriteStatus;
import io.ringraft.engine.Role;
import io.ringraft.network.InJvmNetwork;
import io.ringraft.storage.InMemoryLogStorage;
import io.ringraft.storage.InMemorySnapshotStore;
import io.ringraft.storage.SnapshotMeta;
import io.ringraft.storage.SnapshotReader;
import io.ringraft.storage.SnapshotWriter;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Snapshots are built off the node's agents in every threading mode: on the node's snapshot
 * thread, never on the thread that runs the core (which goes on polling and heartbeating meanwhile).
 */
class SnapshotThreadTest
{
    private Raft node;
    private Thread driver;
    private volatile boolean driving = true;

    @AfterEach
    void close() throws InterruptedException
    {
        driving = false;
        if (driver != null)
        {
            driver.join();
        }
        if (node != null)
        {
            node.close();
        }
    }

    /** Notes the thread that builds, and holds the build until the test lets it go. */
    private static final class HeldMachine extends RecordingStateMachine
    {
        final CountDownLatch building = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);
        volatile String buildThread;

        @Override
        public void buildSnapshot(final SnapshotWriter writer)
        {
            buildThread = Thread.currentThread().getName();
            building.countDown();
            try
            {
                release.await(10, TimeUnit.SECONDS);
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
            }
            super.buildSnapshot(writer);
        }
    }

    @ParameterizedTest
    @EnumSource(ThreadingMode.class)
    void aSnapshotIsBuiltOnTheSnapshotThreadWhileTheCoreGoesOnCommitting(final ThreadingMode mode) throws Exception
    {
        final HeldMachine machine = new HeldMachine();
        node = Raft.start(new RaftConfig().nodeId(1).threadingMode(mode), new InMemoryLogStorage(), new InJvmNetwork(64).endpoint(1),
            machine, Membership.of(1));
        final long deadline = driveUntilLeading(mode);
        assertEquals(WriteStatus.OK, node.clientWrite(command(1)).get(10, TimeUnit.SECONDS).status());

        final CompletableFuture<SnapshotMeta> snapshot = node.triggerSnapshot();
        assertTrue(machine.building.await(10, TimeUnit.SECONDS), "the build started");
        // The build is held: a write still commits, which needs the core's duty cycles.
        final long committed = node.commitIndex();
        final CompletableFuture<io.ringraft.WriteResult> write = node.clientWrite(command(2));
        while (node.commitIndex() <= committed)
        {
            assertTrue(System.nanoTime() < deadline, "nothing committed while the snapshot was built: the core waited for it");
            Thread.sleep(1);
        }
        assertTrue(machine.buildThread.startsWith("ringraft-snapshot-1"), "built on " + machine.buildThread);
        machine.release.countDown();
        assertTrue(snapshot.get(10, TimeUnit.SECONDS).lastIncluded().index() >= 2);
        assertEquals(WriteStatus.OK, write.get(10, TimeUnit.SECONDS).status(), "applied once the build was done");
    }

    /**
     * A state machine that captures its state goes on applying while the capture is written: a write is
     * answered (applied) during the build, and the snapshot holds the state as of the capture.
     */
    @ParameterizedTest
    @EnumSource(ThreadingMode.class)
    void aCapturedSnapshotIsWrittenWhileTheStateMachineGoesOnApplying(final ThreadingMode mode) throws Exception
    {
        final CapturingStateMachine machine = new CapturingStateMachine();
        final InMemorySnapshotStore store = new InMemorySnapshotStore();
        node = Raft.start(new RaftConfig().nodeId(1).threadingMode(mode), new InMemoryLogStorage(), store,
            new InJvmNetwork(64).endpoint(1), machine, Membership.of(1));
        driveUntilLeading(mode);
        final io.ringraft.WriteResult first = node.clientWrite(command(1)).get(10, TimeUnit.SECONDS);
        assertEquals(WriteStatus.OK, first.status());

        final CompletableFuture<SnapshotMeta> snapshot = node.triggerSnapshot();
        assertTrue(machine.writing.await(10, TimeUnit.SECONDS), "the capture is being written");
        // The write of the capture is held: a new write is still applied and answered.
        assertEquals(WriteStatus.OK, node.clientWrite(command(2)).get(10, TimeUnit.SECONDS).status(), "applied during the build");
        assertEquals(List.of(1L, 2L), machine.commands());
        machine.release.countDown();
        final SnapshotMeta meta = snapshot.get(10, TimeUnit.SECONDS);
        assertEquals(first.index(), meta.lastIncluded().index(), "the snapshot is of the state at the capture");
        final RecordingStateMachine restored = new RecordingStateMachine();
        try (SnapshotReader reader = store.open(meta))
        {
            restored.installSnapshot(meta, reader);
        }
        assertEquals(List.of(1L), restored.commands(), "only what was captured");
    }

    /**
     * Drives {@link #node} from a thread of the test's in INVOKER mode, then waits until it leads.
     *
     * @return the deadline (10 s from now) the test's waits share
     */
    private long driveUntilLeading(final ThreadingMode mode) throws InterruptedException
    {
        if (mode == ThreadingMode.INVOKER)
        {
            final Raft raft = node;
            driver = new Thread(() ->
            {
                while (driving)
                {
                    if (raft.doWork() == 0)
                    {
                        LockSupport.parkNanos(50_000);
                    }
                }
            }, "driver-1");
            driver.start();
        }
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (node.role() != Role.LEADER)
        {
            assertTrue(System.nanoTime() < deadline, "node 1 did not lead");
            Thread.sleep(1);
        }
        return deadline;
    }

    private static byte[] command(final long value)
    {
        final byte[] bytes = new byte[16];
        new UnsafeBuffer(bytes).putLong(0, value);
        return bytes;
    }
}
