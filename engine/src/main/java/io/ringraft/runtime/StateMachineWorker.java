package io.ringraft.runtime;

import io.ringraft.LogId;
import io.ringraft.RaftException;
import io.ringraft.Vote;
import io.ringraft.WriteStatus;
import io.ringraft.statemachine.CapturedSnapshot;
import io.ringraft.statemachine.RaftStateMachine;
import io.ringraft.storage.RaftSnapshotStore;
import io.ringraft.storage.SnapshotMeta;
import io.ringraft.storage.SnapshotReader;
import com.lmax.disruptor.EventPoller;
import com.lmax.disruptor.RingBuffer;
import org.agrona.ExpandableArrayBuffer;
import org.agrona.concurrent.Agent;
import org.agrona.concurrent.AgentTerminationException;
import org.agrona.concurrent.ManyToOneConcurrentArrayQueue;
import org.agrona.concurrent.NanoClock;
import org.agrona.concurrent.status.AtomicCounter;

import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * The agent that feeds the apply ring to the user's {@link RaftStateMachine}, in index order, and
 * answers the callers: the write's response for writes made through this node, the applied index
 * for linearizable reads. Snapshots are started here, at their place in the apply order, and built
 * by the {@link SnapshotBuilder} off this agent's thread while this agent applies nothing more; a
 * finished snapshot goes back to {@code RaftCore} through a queue. A duty cycle applies for at
 * most {@code RaftConfig.applyTimeSliceNanos} (and one entry more; up to {@value #MAX_CLOCK_STRIDE} more while
 * entries take under {@value #CHEAP_ENTRY_NANOS} ns each), so an agent sharing the thread (the core, in
 * {@code SHARED} and {@code INVOKER} modes) runs again within that. The clock is read after every entry while
 * entries are slow, and only every 2, 4 … {@value #MAX_CLOCK_STRIDE} entries while they are cheap: a clock read
 * costs more than applying a small command here (it was a fifth of the in-process benchmark's time).
 */
public final class StateMachineWorker implements Agent, EventPoller.Handler<ApplyEvent>
{
    private final long nodeId;
    private final RaftStateMachine stateMachine;
    private final RaftSnapshotStore snapshots;
    private final EventPoller<ApplyEvent> poller;
    private final AtomicCounter applied;
    private final ManyToOneConcurrentArrayQueue<Object> toCore;
    private final ExpandableArrayBuffer response = new ExpandableArrayBuffer(256);
    private long lastTerm;
    private long lastIndex;
    private long snapshotSequence;
    private final FailStop failStop;
    private final PayloadBudget budget;
    private final Runnable onStopped;
    private final SnapshotBuilder builder;
    private final NanoClock clock;
    private final long applyTimeSliceNanos;
    private long sliceEnd;
    /** Entries between two reads of the clock: 1 while entries are slow, up to {@value #MAX_CLOCK_STRIDE}. */
    private int clockStride = 1;
    private int sinceClock;
    private long lastClock;
    /** The most entries applied between two reads of the clock. */
    static final int MAX_CLOCK_STRIDE = 16;
    /** An entry applied faster than this on average is cheap: the clock is read less often. */
    static final long CHEAP_ENTRY_NANOS = 1_000;

    StateMachineWorker(final long nodeId, final RaftStateMachine stateMachine, final RaftSnapshotStore snapshots,
        final RingBuffer<ApplyEvent> ring, final AtomicCounter applied, final LogId startApplied,
        final PayloadBudget budget, final ManyToOneConcurrentArrayQueue<Object> toCore, final FailStop failStop, final Runnable onStopped,
        final SnapshotBuilder builder, final NanoClock clock, final long applyTimeSliceNanos)
    {
        this.builder = builder;
        this.clock = clock;
        this.applyTimeSliceNanos = applyTimeSliceNanos;
        this.budget = budget;
        this.failStop = failStop;
        this.onStopped = onStopped;
        this.nodeId = nodeId;
        this.stateMachine = stateMachine;
        this.snapshots = snapshots;
        this.poller = ring.newPoller();
        ring.addGatingSequences(poller.getSequence());
        this.applied = applied;
        this.toCore = toCore;
        this.lastTerm = startApplied.term();
        this.lastIndex = startApplied.index();
        applied.setOrdered(startApplied.index());
    }

    @Override
    public int doWork()
    {
        if (failStop.failed())
        {
            throw new AgentTerminationException("node " + nodeId + " failed"); // another agent's failure stops this one too
        }
        int work = 0;
        if (builder.busy())
        {
            final Object built = builder.take();
            if (built == null)
            {
                if (builder.blocksApply())
                {
                    return 0; // the builder reads the state machine: apply nothing until it is done
                }
            }
            else
            {
                work = 1;
                onBuilt(built);
            }
        }
        final long before = poller.getSequence().get();
        lastClock = clock.nanoTime();
        sliceEnd = lastClock + applyTimeSliceNanos;
        sinceClock = 0;
        try
        {
            poller.poll(this);
        }
        catch (final AgentTerminationException ex)
        {
            throw ex; // a snapshot build that failed: reported already
        }
        catch (final Deferred deferred)
        {
            // A snapshot to start or install while a captured one is still being written: it stays in the
            // ring (the poller did not pass it) until that build is done; what was applied before it ends here.
            endBatch();
        }
        catch (final Throwable ex)
        {
            // The state machine cannot skip an entry: a failure to apply stops the node. The entry
            // stays in the ring (the poller did not pass it), so its caller is answered FATAL. The
            // entries applied before it in this batch were answered: the counter shows them
            // (the state machine, which just threw, is not told the batch ended).
            if (lastIndex > applied.get())
            {
                applied.setOrdered(lastIndex);
            }
            failStop.fail(ex);
            throw new AgentTerminationException(ex);
        }
        return work + (int)(poller.getSequence().get() - before);
    }

    /** A snapshot build ended: its meta goes to the core; a build that failed stops the node, as an apply that failed does. */
    private void onBuilt(final Object built)
    {
        if (built instanceof SnapshotMeta)
        {
            toCore.offer(built);
            return;
        }
        final Throwable cause = (Throwable)built;
        failStop.fail(cause);
        throw new AgentTerminationException(cause);
    }

    /** The agent stopped (closed, or failed): a build under way is stopped first; see {@code NodeRuntime}, which answers what is left. */
    @Override
    public void onClose()
    {
        try
        {
            builder.close();
        }
        finally
        {
            onStopped.run();
        }
    }

    @Override
    public boolean onEvent(final ApplyEvent event, final long sequence, final boolean endOfBatch)
    {
        boolean more = true;
        switch (event.type)
        {
            case ApplyEvent.ENTRY:
                int length = 0;
                if (event.normal)
                {
                    length = stateMachine.apply(event.index, event.term, event.payload, 0, event.length, response);
                }
                lastIndex = event.index;
                lastTerm = event.term;
                if (event.handler != null)
                {
                    failStop.onWriteResult(event.handler, event.correlationId, WriteStatus.OK, event.index, Vote.NO_NODE, response, 0, length);
                }
                event.releasePayload(budget);
                more = withinSlice();
                break;
            case ApplyEvent.READS:
                // Readers look at the state (and the applied index) once their future completes.
                endBatch();
                final List<CompletableFuture<Long>> reads = event.reads;
                for (int i = 0; i < reads.size(); i++)
                {
                    reads.get(i).complete(event.readIndex);
                }
                break;
            case ApplyEvent.BUILD_SNAPSHOT:
                deferWhileBuilding();
                endBatch();
                more = startSnapshot(event);
                break;
            default:
                deferWhileBuilding();
                installSnapshot(event.snapshot);
                break;
        }
        event.clear();
        if (endOfBatch || !more)
        {
            endBatch();
        }
        return more;
    }

    /** @return true to go on applying: the snapshot was not started, or was built at once (by an executor that runs it in place) */
    private boolean startSnapshot(final ApplyEvent event)
    {
        if (lastIndex == 0)
        {
            toCore.offer(new SnapshotFailed(new IllegalStateException("node " + nodeId + " has applied nothing to snapshot")));
            return true;
        }
        final SnapshotMeta planned = new SnapshotMeta(new LogId(lastTerm, lastIndex), event.membership,
            "snap-" + nodeId + "-" + lastTerm + "-" + lastIndex + "-" + (++snapshotSequence), -1, 0);
        // A state machine that captures its state goes on applying while the capture is written.
        final CapturedSnapshot captured = stateMachine.captureSnapshot();
        builder.start(planned, captured);
        final Object built = builder.take();
        if (built == null)
        {
            return captured != null;
        }
        onBuilt(built);
        return true;
    }

    /**
     * One snapshot at a time: a snapshot to build or install waits in the ring while a captured one is still
     * being written (the entries go on being applied meanwhile; see {@link #doWork}).
     */
    private void deferWhileBuilding()
    {
        if (builder.busy())
        {
            throw Deferred.INSTANCE;
        }
    }

    /** Leaves an event in the ring for a later duty cycle (thrown, so the poller does not pass it). */
    private static final class Deferred extends RuntimeException
    {
        private static final long serialVersionUID = 1L;
        static final Deferred INSTANCE = new Deferred();

        private Deferred()
        {
            super("deferred", null, false, false);
        }
    }

    private void installSnapshot(final SnapshotMeta meta)
    {
        try (SnapshotReader reader = snapshots.open(meta))
        {
            stateMachine.installSnapshot(meta, reader);
        }
        lastIndex = meta.lastIncluded().index();
        lastTerm = meta.lastIncluded().term();
        stateMachine.onBatchEnd(lastIndex, lastTerm);
        applied.setOrdered(lastIndex);
    }

    private void endBatch()
    {
        if (lastIndex > applied.get())
        {
            stateMachine.onBatchEnd(lastIndex, lastTerm);
            applied.setOrdered(lastIndex);
        }
    }

    /** @return false once the duty cycle's apply time slice is over (the clock read every {@link #clockStride} entries) */
    private boolean withinSlice()
    {
        if (++sinceClock < clockStride)
        {
            return true;
        }
        final long now = clock.nanoTime();
        clockStride = now - lastClock < CHEAP_ENTRY_NANOS * sinceClock ? Math.min(clockStride * 2, MAX_CLOCK_STRIDE) : 1;
        sinceClock = 0;
        lastClock = now;
        return now < sliceEnd;
    }

    /** A snapshot that could not be built (nothing applied yet), for {@code RaftCore} to report. */
    record SnapshotFailed(RuntimeException cause)
    {
    }

    /**
     * After the worker stopped: answers what is still in the ring, {@code FATAL} if the node failed,
     * else shut down. Called under {@code NodeRuntime}'s drain lock.
     */
    void drain()
    {
        final int status = failStop.writeStatus();
        try
        {
            poller.poll((event, sequence, endOfBatch) ->
            {
                if (event.type == ApplyEvent.ENTRY && event.handler != null)
                {
                    failStop.onWriteResult(event.handler, event.correlationId, status, event.index, Vote.NO_NODE, response, 0, 0);
                }
                if (event.reads != null)
                {
                    final RaftException ex = failStop.stopped(nodeId);
                    event.reads.forEach(f -> f.completeExceptionally(ex));
                }
                event.clear();
                return true;
            });
        }
        catch (final Exception ex)
        {
            throw new IllegalStateException(ex);
        }
    }

    @Override
    public String roleName()
    {
        return "ringraft-sm-" + nodeId;
    }
}
