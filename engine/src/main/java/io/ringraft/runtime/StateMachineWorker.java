package io.ringraft.runtime;

import io.ringraft.EntryType;
import io.ringraft.LogId;
import io.ringraft.Vote;
import io.ringraft.WriteStatus;
import io.ringraft.statemachine.RaftStateMachine;
import com.lmax.disruptor.EventPoller;
import com.lmax.disruptor.RingBuffer;
import org.agrona.ExpandableArrayBuffer;
import org.agrona.concurrent.Agent;
import org.agrona.concurrent.status.AtomicCounter;

import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * The agent that feeds committed entries from the apply ring to the user's
 * {@link RaftStateMachine}, in index order, and answers the callers: the write's response for
 * writes made through this node, the applied index for linearizable reads.
 */
public final class StateMachineWorker implements Agent, EventPoller.Handler<ApplyEvent>
{
    private final long nodeId;
    private final RaftStateMachine stateMachine;
    private final RingBuffer<ApplyEvent> ring;
    private final EventPoller<ApplyEvent> poller;
    private final AtomicCounter applied;
    private final ExpandableArrayBuffer response = new ExpandableArrayBuffer(256);
    private long lastTerm;
    private long lastIndex;

    StateMachineWorker(final long nodeId, final RaftStateMachine stateMachine, final RingBuffer<ApplyEvent> ring,
        final AtomicCounter applied)
    {
        this.nodeId = nodeId;
        this.stateMachine = stateMachine;
        this.ring = ring;
        this.poller = ring.newPoller();
        ring.addGatingSequences(poller.getSequence());
        this.applied = applied;
    }

    @Override
    public int doWork() throws Exception
    {
        final long before = poller.getSequence().get();
        poller.poll(this);
        return (int)(poller.getSequence().get() - before);
    }

    @Override
    public boolean onEvent(final ApplyEvent event, final long sequence, final boolean endOfBatch)
    {
        if (event.type == ApplyEvent.ENTRY)
        {
            int length = 0;
            if (event.entryType == EntryType.NORMAL)
            {
                length = stateMachine.apply(event.index, event.term, event.payload, 0, event.length, response);
            }
            lastIndex = event.index;
            lastTerm = event.term;
            if (event.handler != null)
            {
                event.handler.onWriteResult(event.correlationId, WriteStatus.OK, event.index, Vote.NO_NODE, response, 0, length);
            }
        }
        else
        {
            // Readers look at the state (and the applied index) once their future completes.
            endBatch();
            final List<CompletableFuture<Long>> reads = event.reads;
            for (int i = 0; i < reads.size(); i++)
            {
                reads.get(i).complete(event.readIndex);
            }
        }
        event.clear();
        if (endOfBatch)
        {
            endBatch();
        }
        return true;
    }

    private void endBatch()
    {
        if (lastIndex > applied.get())
        {
            stateMachine.onBatchEnd(new LogId(lastTerm, lastIndex));
            applied.setOrdered(lastIndex);
        }
    }

    /** After the worker stopped: answers what is still in the ring as shut down. */
    void drainOnClose()
    {
        try
        {
            poller.poll((event, sequence, endOfBatch) ->
            {
                if (event.handler != null)
                {
                    event.handler.onWriteResult(event.correlationId, WriteStatus.SHUT_DOWN, event.index, Vote.NO_NODE, response, 0, 0);
                }
                if (event.reads != null)
                {
                    event.reads.forEach(f -> f.completeExceptionally(new IllegalStateException("node " + nodeId + " shut down")));
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

    RingBuffer<ApplyEvent> ring()
    {
        return ring;
    }

    @Override
    public String roleName()
    {
        return "ringraft-sm-" + nodeId;
    }
}
