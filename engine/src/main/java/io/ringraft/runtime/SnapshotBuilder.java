package io.ringraft.runtime;

import io.ringraft.statemachine.CapturedSnapshot;
import io.ringraft.statemachine.RaftStateMachine;
import io.ringraft.storage.RaftSnapshotStore;
import io.ringraft.storage.SnapshotMeta;
import io.ringraft.storage.SnapshotWriter;
import org.agrona.DirectBuffer;

import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Builds the state machine's snapshots away from the node's agents: on a thread of its own
 * ({@code ringraft-snapshot-<id>}, started at the first build) unless the settings name another
 * {@link Executor}. The {@link StateMachineWorker} starts a build at the snapshot's place in the
 * apply order and applies nothing until it is done (the builder reads the state machine), so
 * neither the core nor, in {@code SHARED} mode, its thread waits for the build.
 * <p>
 * One build at a time. {@link #start} and {@link #take} are called by the worker's thread; the
 * build's outcome passes through a volatile field.
 */
final class SnapshotBuilder
{
    private final long nodeId;
    private final RaftStateMachine stateMachine;
    private final RaftSnapshotStore snapshots;
    private final ExecutorService ownExecutor;
    private final Executor executor;
    private boolean busy;
    private boolean blocksApply;
    private volatile Object outcome;
    private volatile boolean cancelled;
    /** The thread of {@link #ownExecutor} once started, joined on close. */
    private volatile Thread ownThread;

    /**
     * @param executor where builds run, or null for a thread of the builder's own
     */
    SnapshotBuilder(final long nodeId, final RaftStateMachine stateMachine, final RaftSnapshotStore snapshots, final Executor executor)
    {
        this.nodeId = nodeId;
        this.stateMachine = stateMachine;
        this.snapshots = snapshots;
        if (executor == null)
        {
            ownExecutor = Executors.newSingleThreadExecutor(runnable ->
            {
                final Thread thread = new Thread(runnable, "ringraft-snapshot-" + nodeId);
                thread.setDaemon(true);
                ownThread = thread;
                return thread;
            });
            this.executor = ownExecutor;
        }
        else
        {
            ownExecutor = null;
            this.executor = executor;
        }
    }

    /** @return true from {@link #start} until {@link #take} returned the outcome */
    boolean busy()
    {
        return busy;
    }

    /**
     * Starts building the snapshot {@code planned} of the state as it is now: from {@code captured}, or, when
     * nothing was captured, from the live state machine, which the caller then changes no more until
     * {@link #take} returns the outcome.
     */
    void start(final SnapshotMeta planned, final CapturedSnapshot captured)
    {
        busy = true;
        blocksApply = captured == null;
        outcome = null;
        executor.execute(() -> outcome = build(planned, captured));
    }

    /** @return true while a build reads the live state machine (nothing captured): nothing may be applied */
    boolean blocksApply()
    {
        return busy && blocksApply;
    }

    /**
     * @return null while the build runs; then, once, the committed snapshot's {@link SnapshotMeta}
     *         or the {@link Throwable} that stopped it
     */
    Object take()
    {
        final Object done = outcome;
        if (done != null)
        {
            outcome = null;
            busy = false;
        }
        return done;
    }

    private Object build(final SnapshotMeta planned, final CapturedSnapshot captured)
    {
        // A state machine that cannot snapshot, or a store that cannot keep one, fails the node
        // (the worker reports it): the writer is closed (aborted) on the way.
        try (SnapshotWriter writer = new Cancellable(snapshots.create(planned)))
        {
            if (captured != null)
            {
                captured.writeTo(writer);
            }
            else
            {
                stateMachine.buildSnapshot(writer);
            }
            return writer.commit();
        }
        catch (final Throwable ex)
        {
            return ex;
        }
    }

    /**
     * The node is closing: a build under way stops at its next write, and this returns once it
     * stopped (the storage closes next).
     */
    void close()
    {
        cancelled = true;
        if (ownExecutor != null)
        {
            ownExecutor.shutdown();
            try
            {
                while (!ownExecutor.awaitTermination(1, TimeUnit.SECONDS))
                {
                    // a state machine computing without writing: wait for it, the storage must outlive it
                }
                // Terminated means its tasks are done, not that its thread has ended: wait for that
                // too, so that a closed node leaves no thread of its own behind.
                final Thread thread = ownThread;
                if (thread != null)
                {
                    thread.join();
                }
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
            }
        }
        else
        {
            while (busy && outcome == null)
            {
                LockSupport.parkNanos(1_000_000);
            }
        }
    }

    /** Stops a build when the node closes, so closing does not wait for a large snapshot to be written. */
    private final class Cancellable implements SnapshotWriter
    {
        private final SnapshotWriter writer;

        Cancellable(final SnapshotWriter writer)
        {
            this.writer = writer;
        }

        @Override
        public void write(final DirectBuffer buffer, final int offset, final int length)
        {
            if (cancelled)
            {
                throw new IllegalStateException("node " + nodeId + " is closing: snapshot build abandoned");
            }
            writer.write(buffer, offset, length);
        }

        @Override
        public long position()
        {
            return writer.position();
        }

        @Override
        public SnapshotMeta commit()
        {
            return writer.commit();
        }

        @Override
        public void abort()
        {
            writer.abort();
        }

        @Override
        public void close()
        {
            writer.close();
        }
    }
}
