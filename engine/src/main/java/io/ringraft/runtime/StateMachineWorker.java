package io.ringraft.runtime;

import io.ringraft.EntryType;
import io.ringraft.LogId;
import io.ringraft.RaftException;
import io.ringraft.Vote;
import io.ringraft.WriteStatus;
import io.ringraft.statemachine.RaftStateMachine;
import io.ringraft.storage.RaftSnapshotStore;
import io.ringraft.storage.SnapshotMeta;
import io.ringraft.storage.SnapshotReader;
import io.ringraft.storage.SnapshotWriter;
import com.lmax.disruptor.EventPoller;
import com.lmax.disruptor.RingBuffer;
import org.agrona.ExpandableArrayBuffer;
import org.agrona.concurrent.Agent;
import org.agrona.concurrent.AgentTerminationException;
import org.agrona.concurrent.ManyToOneConcurrentArrayQueue;
import org.agrona.concurrent.status.AtomicCounter;

import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * The agent that feeds the apply ring to the user's {@link RaftStateMachine}, in index order, and
 * answers the callers: the write's response for writes made through this node, the applied index
 * for linearizable reads. Snapshots are built here too, at their place in the apply order, so
 * {@code RaftCore} goes on committing meanwhile; a finished snapshot goes back to it through a
 * queue.
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

    StateMachineWorker(final long nodeId, final RaftStateMachine stateMachine, final RaftSnapshotStore snapshots,
        final RingBuffer<ApplyEvent> ring, final AtomicCounter applied, final LogId startApplied,
        final PayloadBudget budget, final ManyToOneConcurrentArrayQueue<Object> toCore, final FailStop failStop, final Runnable onStopped)
    {
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
        final long before = poller.getSequence().get();
        try
        {
            poller.poll(this);
        }
        catch (final Throwable ex)
        {
            // The state machine cannot skip an entry: a failure to apply stops the node. The entry
            // stays in the ring (the poller did not pass it), so its caller is answered FATAL.
            failStop.fail(ex);
            throw new AgentTerminationException(ex);
        }
        return (int)(poller.getSequence().get() - before);
    }

    /** The agent stopped (closed, or failed): see {@code NodeRuntime}, which answers what is left. */
    @Override
    public void onClose()
    {
        onStopped.run();
    }

    @Override
    public boolean onEvent(final ApplyEvent event, final long sequence, final boolean endOfBatch)
    {
        switch (event.type)
        {
            case ApplyEvent.ENTRY:
                int length = 0;
                if (event.entryType == EntryType.NORMAL)
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
                endBatch();
                buildSnapshot(event);
                break;
            default:
                installSnapshot(event.snapshot);
                break;
        }
        event.clear();
        if (endOfBatch)
        {
            endBatch();
        }
        return true;
    }

    private void buildSnapshot(final ApplyEvent event)
    {
        if (lastIndex == 0)
        {
            toCore.offer(new SnapshotFailed(new IllegalStateException("node " + nodeId + " has applied nothing to snapshot")));
            return;
        }
        final SnapshotMeta planned = new SnapshotMeta(new LogId(lastTerm, lastIndex), event.membership,
            "snap-" + nodeId + "-" + lastTerm + "-" + lastIndex + "-" + (++snapshotSequence), -1, 0);
        // A state machine that cannot snapshot, or a store that cannot keep one, fails the node
        // (through doWork) like any other agent failure: the writer is closed (aborted) on the way.
        try (SnapshotWriter writer = snapshots.create(planned))
        {
            stateMachine.buildSnapshot(writer);
            toCore.offer(writer.commit());
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
                if (event.handler != null)
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
