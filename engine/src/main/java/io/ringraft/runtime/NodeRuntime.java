package io.ringraft.runtime;

import io.ringraft.AdminResult;
import io.ringraft.AdminStatus;
import io.ringraft.LogId;
import io.ringraft.Membership;
import io.ringraft.ReadPolicy;
import io.ringraft.RaftConfig;
import io.ringraft.RaftException;
import io.ringraft.RaftMetrics;
import io.ringraft.ThreadingMode;
import io.ringraft.Vote;
import io.ringraft.WriteHandler;
import io.ringraft.WriteStatus;
import io.ringraft.engine.Role;
import io.ringraft.network.RaftNetwork;
import io.ringraft.statemachine.RaftStateMachine;
import io.ringraft.storage.RaftLogStorage;
import io.ringraft.storage.RaftSnapshotStore;
import io.ringraft.storage.SnapshotMeta;
import io.ringraft.storage.SnapshotReader;
import com.lmax.disruptor.InsufficientCapacityException;
import com.lmax.disruptor.RingBuffer;
import com.lmax.disruptor.YieldingWaitStrategy;
import org.agrona.DirectBuffer;
import org.agrona.ErrorHandler;
import org.agrona.concurrent.AgentInvoker;
import org.agrona.concurrent.AgentTerminationException;
import org.agrona.concurrent.AgentRunner;
import org.agrona.concurrent.CompositeAgent;
import org.agrona.concurrent.ManyToOneConcurrentArrayQueue;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;

/**
 * The running parts of one node behind the {@link io.ringraft.Raft} handle: the two rings, the
 * {@link RaftCore} and {@link StateMachineWorker} agents, and their threads per the
 * {@link ThreadingMode}. Producers publish into the ingress ring without locks; shutting down
 * answers every call that was accepted.
 */
public final class NodeRuntime
{
    private static final Role[] ROLES = Role.values();
    /** The node's own counters and a match-index counter per peer; a removed peer's counter is freed for the next. */
    private static final int MAX_COUNTERS = 256;

    private final RaftConfig config;
    private final RaftLogStorage storage;
    private final RaftSnapshotStore snapshots;
    private final RaftNetwork network;
    private final RaftCounters counters;
    private final RingBuffer<IngressEvent> ingress;
    private volatile Runnable inputSignal;
    private volatile Thread driver;
    private final PayloadBudget ingressBudget;
    private final RaftCore core;
    private final StateMachineWorker worker;
    private final AgentRunner coreRunner;
    private final AgentRunner workerRunner;
    private final AgentInvoker invoker;
    private final FailStop failStop;
    /** The commit index this node had seen before it stopped: local reads wait until the state machine applied it. */
    private final long readyIndex;
    private final Object drainLock = new Object();
    private volatile boolean closed;
    // Guarded by drainLock: which agents stopped; once both have, late callers are answered by their own thread.
    private boolean coreStopped;
    private boolean workerStopped;
    private boolean stopped;

    private NodeRuntime(final RaftConfig config, final RaftLogStorage storage, final RaftSnapshotStore snapshots,
        final RaftNetwork network, final RaftStateMachine stateMachine, final Membership initialMembership)
    {
        this.config = config;
        this.storage = storage;
        this.snapshots = snapshots;
        this.network = network;
        this.counters = new RaftCounters(config.nodeId(), MAX_COUNTERS, config.countersFile());
        this.failStop = new FailStop(config.nodeId(), config.errorHandler(), config.eventListener(), counters);
        failStop.onFailure(this::stopLeading);
        // Consumers poll; the wait strategy is never waited on, and yielding's signal is free.
        this.ingress = RingBuffer.createMultiProducer(IngressEvent::new, config.ingressRingSize(), new YieldingWaitStrategy());
        final RingBuffer<ApplyEvent> applyRing = RingBuffer.createSingleProducer(ApplyEvent::new, config.applyRingSize(),
            new YieldingWaitStrategy());
        this.ingressBudget = new PayloadBudget(config.ringSlotBytes(), config.maxRingPayloadBytes());
        final PayloadBudget applyBudget = new PayloadBudget(config.ringSlotBytes(), config.maxRingPayloadBytes());
        this.readyIndex = storage.readCommitted();
        final LogId applied = restoreStateMachine(stateMachine, snapshots);
        final ManyToOneConcurrentArrayQueue<Object> workerToCore = new ManyToOneConcurrentArrayQueue<>(64);
        this.worker = new StateMachineWorker(config.nodeId(), stateMachine, snapshots, applyRing, counters.applied, applied, applyBudget,
            workerToCore, failStop, this::workerStopped,
            new SnapshotBuilder(config.nodeId(), stateMachine, snapshots, config.snapshotExecutor()), config.nanoClock(),
            config.applyTimeSliceNanos());
        this.core = new RaftCore(config, storage, snapshots, network, applied, initialMembership, counters, ingress, ingressBudget,
            applyRing, applyBudget, workerToCore, failStop, this::coreStopped);
        // The agents report their own failures through failStop; the runners see only the
        // termination that follows, and errors from closing.
        final ErrorHandler errorHandler = this::onAgentError;
        switch (config.threadingMode())
        {
            case DEDICATED:
                coreRunner = new AgentRunner(config.coreIdleStrategy().get(), errorHandler, null, core);
                workerRunner = new AgentRunner(config.stateMachineIdleStrategy().get(), errorHandler, null, worker);
                invoker = null;
                AgentRunner.startOnThread(coreRunner);
                AgentRunner.startOnThread(workerRunner);
                break;
            case SHARED:
                coreRunner = new AgentRunner(config.coreIdleStrategy().get(), errorHandler, null, new CompositeAgent(core, worker));
                workerRunner = null;
                invoker = null;
                AgentRunner.startOnThread(coreRunner);
                break;
            default:
                coreRunner = null;
                workerRunner = null;
                invoker = new AgentInvoker(errorHandler, null, new CompositeAgent(core, worker));
                invoker.start();
                break;
        }
    }

    /**
     * @return a started node; see {@link io.ringraft.Raft#start}
     */
    public static NodeRuntime start(final RaftConfig config, final RaftLogStorage storage, final RaftSnapshotStore snapshots,
        final RaftNetwork network, final RaftStateMachine stateMachine, final Membership initialMembership)
    {
        return new NodeRuntime(config, storage, snapshots, network, stateMachine, initialMembership);
    }

    /** A node restarts from its latest snapshot plus the log after it: load the snapshot if the state machine is behind it. */
    private static LogId restoreStateMachine(final RaftStateMachine stateMachine, final RaftSnapshotStore snapshots)
    {
        final LogId applied = stateMachine.lastApplied();
        final SnapshotMeta latest = snapshots.latest();
        if (latest == null || latest.lastIncluded().index() <= applied.index())
        {
            return applied;
        }
        try (SnapshotReader reader = snapshots.open(latest))
        {
            stateMachine.installSnapshot(latest, reader);
        }
        stateMachine.onBatchEnd(latest.lastIncluded().index(), latest.lastIncluded().term());
        return latest.lastIncluded();
    }

    private void onAgentError(final Throwable error)
    {
        if (!(error instanceof AgentTerminationException))
        {
            failStop.report(error);
        }
    }

    /** A failed node leads no more: its counters say so at once (its core stops within its duty cycle). */
    private void stopLeading()
    {
        counters.role.setOrdered(Role.FOLLOWER.ordinal());
        counters.leader.setOrdered(Vote.NO_NODE);
    }

    private void coreStopped()
    {
        agentStopped(true);
    }

    private void workerStopped()
    {
        agentStopped(false);
    }

    /**
     * Once both agents stopped (the node closed or failed), answers everything they had accepted:
     * {@code FATAL} after a failure, so callers learn it at once rather than on close.
     */
    private void agentStopped(final boolean isCore)
    {
        synchronized (drainLock)
        {
            if (isCore)
            {
                coreStopped = true;
            }
            else
            {
                workerStopped = true;
            }
            if (coreStopped && workerStopped)
            {
                stopped = true;
                if (failStop.failed())
                {
                    stopLeading();
                }
                core.drain();
                worker.drain();
            }
        }
    }

    public int clientWrite(final DirectBuffer payload, final int offset, final int length, final long correlationId,
        final WriteHandler handler)
    {
        if (length > config.maxPayloadLength() || length < 0)
        {
            return WriteStatus.PAYLOAD_TOO_LARGE;
        }
        if (failStop.failed())
        {
            return WriteStatus.FATAL;
        }
        if (closed)
        {
            return WriteStatus.SHUT_DOWN;
        }
        if (!ingressBudget.tryReserve(length))
        {
            counters.backPressure.increment();
            return WriteStatus.BACK_PRESSURED;
        }
        final long seq;
        try
        {
            seq = ingress.tryNext();
        }
        catch (final InsufficientCapacityException ex)
        {
            ingressBudget.cancel(length);
            counters.backPressure.increment();
            return WriteStatus.BACK_PRESSURED;
        }
        final IngressEvent event = ingress.get(seq);
        event.type = IngressEvent.WRITE;
        event.payload.putBytes(0, payload, offset, length);
        event.length = length;
        event.correlationId = correlationId;
        if (event.handler != handler)
        {
            event.handler = handler; // the same handler as the slot's last: no store, no GC card marked
        }
        ingress.publish(seq);
        afterPublish();
        return WriteStatus.OK;
    }

    /** Publishes a read barrier; see {@link io.ringraft.Raft#ensureLinearizable(ReadPolicy)}. */
    public CompletableFuture<Long> ensureLinearizable(final ReadPolicy policy)
    {
        final CompletableFuture<Long> future = new CompletableFuture<>();
        if (closed || failStop.failed())
        {
            future.completeExceptionally(failStop.stopped(config.nodeId()));
            return future;
        }
        final long seq;
        try
        {
            seq = ingress.tryNext();
        }
        catch (final InsufficientCapacityException ex)
        {
            counters.backPressure.increment();
            future.completeExceptionally(new RaftException(WriteStatus.BACK_PRESSURED, Vote.NO_NODE, "ingress ring of node " +
                config.nodeId() + " is full"));
            return future;
        }
        final IngressEvent event = ingress.get(seq);
        event.type = IngressEvent.READ;
        event.read = future;
        event.leaseRead = policy == ReadPolicy.LEASE;
        ingress.publish(seq);
        afterPublish();
        return future;
    }

    /** See {@link io.ringraft.Raft#changeMembership}. */
    public CompletableFuture<AdminResult> changeMembership(final long[] voters, final boolean retain, final long timeoutNanos)
    {
        final CompletableFuture<AdminResult> future = new CompletableFuture<>();
        controlOrFail(core -> core.changeMembership(future, voters, retain, timeoutNanos), future);
        return future;
    }

    /** See {@link io.ringraft.Raft#addLearner}. */
    public CompletableFuture<AdminResult> addLearner(final long node, final String endpoint, final long timeoutNanos)
    {
        final CompletableFuture<AdminResult> future = new CompletableFuture<>();
        controlOrFail(core -> core.addLearner(future, node, endpoint, timeoutNanos), future);
        return future;
    }

    /** See {@link io.ringraft.Raft#removeLearner}. */
    public CompletableFuture<AdminResult> removeLearner(final long node, final long timeoutNanos)
    {
        final CompletableFuture<AdminResult> future = new CompletableFuture<>();
        controlOrFail(core -> core.removeLearner(future, node, timeoutNanos), future);
        return future;
    }

    /** See {@link io.ringraft.Raft#transferLeader}. */
    public CompletableFuture<AdminResult> transferLeader(final long target, final long timeoutNanos)
    {
        final CompletableFuture<AdminResult> future = new CompletableFuture<>();
        controlOrFail(core -> core.transferLeader(future, target, timeoutNanos), future);
        return future;
    }

    /** See {@link io.ringraft.Raft#triggerSnapshot}. */
    public CompletableFuture<SnapshotMeta> triggerSnapshot()
    {
        final CompletableFuture<SnapshotMeta> future = new CompletableFuture<>();
        if (!control(core -> core.triggerSnapshot(future)))
        {
            future.completeExceptionally(failStop.stopped(config.nodeId()));
        }
        return future;
    }

    private void controlOrFail(final Consumer<RaftCore> task, final CompletableFuture<AdminResult> future)
    {
        if (!control(task))
        {
            final RaftException stopped = failStop.stopped(config.nodeId());
            future.complete(new AdminResult(stopped.status() == WriteStatus.FATAL ? AdminStatus.FATAL : AdminStatus.SHUT_DOWN, 0,
                Vote.NO_NODE, stopped.getMessage()));
        }
    }

    /** See {@link io.ringraft.Raft#triggerElection}. */
    public void triggerElection()
    {
        control(RaftCore::triggerElection);
    }

    /** See {@link io.ringraft.Raft#triggerHeartbeat}. */
    public void triggerHeartbeat()
    {
        control(RaftCore::triggerHeartbeat);
    }

    /**
     * Runs {@code task} on the core thread; waits for a free slot (control calls are rare).
     *
     * @return false if the node is shut down or failed (the task will not run)
     */
    boolean control(final Consumer<RaftCore> task)
    {
        while (!closed && !failStop.failed())
        {
            try
            {
                final long seq = ingress.tryNext();
                final IngressEvent event = ingress.get(seq);
                event.type = IngressEvent.CONTROL;
                event.control = task;
                ingress.publish(seq);
                afterPublish();
                return true;
            }
            catch (final InsufficientCapacityException ex)
            {
                if (invoker != null)
                {
                    invoker.invoke();
                }
                else
                {
                    LockSupport.parkNanos(100_000);
                }
            }
        }
        return false;
    }

    /**
     * A producer that published after close began may have missed the final drain: answer it here.
     * The check after publishing pairs with close setting the flag before draining.
     */
    private void afterPublish()
    {
        final Runnable signal = inputSignal;
        if (signal != null)
        {
            signal.run();
        }
        if (closed || failStop.failed())
        {
            synchronized (drainLock)
            {
                if (stopped)
                {
                    core.drain();
                }
            }
        }
    }

    /** @return a snapshot of the node's counters and membership */
    public RaftMetrics metrics()
    {
        final int roleOrdinal = (int)counters.role.get();
        return new RaftMetrics(config.nodeId(), ROLES[roleOrdinal], counters.term.get(), counters.leader.get(),
            counters.lastLogIndex.get(), counters.committed.get(), counters.applied.get(), core.membership(), core.matchIndexes(),
            core.ingressOccupancy(), counters.backPressure.get(), counters.sendsRetried.get(), counters.sendsDropped.get(),
            new Vote(counters.term.get(), counters.votedFor.get(), counters.voteCommitted.get() != 0), counters.lastLogTerm.get(),
            counters.flushed.get(), counters.snapshotIndex.get(), counters.purgedIndex.get(), core.droppedInput());
    }

    /** @return the node's role, read from its counters without allocating */
    public Role role()
    {
        return ROLES[(int)counters.role.get()];
    }

    /** @return the known leader, or {@link Vote#NO_NODE}, without allocating */
    public long leaderId()
    {
        return counters.leader.get();
    }

    /** @return the current term, without allocating */
    public long term()
    {
        return counters.term.get();
    }

    /** @return the commit index the node knows, without allocating */
    public long commitIndex()
    {
        return counters.committed.get();
    }

    /** @return the last index the state machine applied, without allocating */
    public long appliedIndex()
    {
        return counters.applied.get();
    }

    /** See {@link io.ringraft.Raft#localReadStatus()}. */
    public int localReadStatus()
    {
        if (failStop.failed())
        {
            return WriteStatus.FATAL;
        }
        if (closed)
        {
            return WriteStatus.SHUT_DOWN;
        }
        return counters.applied.get() >= readyIndex ? WriteStatus.OK : WriteStatus.NOT_READY;
    }

    /** @return the commit index this node had seen before it last stopped (0 for a new node or a storage that keeps none) */
    public long readyIndex()
    {
        return readyIndex;
    }

    /** @return the last index in the node's log, without allocating */
    public long lastLogIndex()
    {
        return counters.lastLogIndex.get();
    }

    /** One duty cycle in {@link ThreadingMode#INVOKER}; see {@link io.ringraft.Raft#doWork}. */
    public int doWork()
    {
        if (invoker == null)
        {
            throw new IllegalStateException("doWork() is for threadingMode=INVOKER; this node runs " + config.threadingMode());
        }
        if (closed)
        {
            return 0;
        }
        final Thread current = Thread.currentThread();
        if (driver != current)
        {
            driver = current;
        }
        return invoker.invoke();
    }

    /** See {@link io.ringraft.Raft#driverThread()}. */
    public Thread driverThread()
    {
        return driver;
    }

    /** @return true in {@link ThreadingMode#INVOKER} */
    public boolean isInvoker()
    {
        return invoker != null;
    }

    /** See {@link io.ringraft.Raft#inputSignal(Runnable)}. */
    public void inputSignal(final Runnable signal)
    {
        inputSignal = signal;
        storage.durabilitySignal(signal);
    }

    /** See {@link io.ringraft.Raft#hasPendingInput()}. */
    public boolean hasPendingInput()
    {
        return ingress.getCursor() > core.ingressTaken() || core.durabilityPending();
    }

    /** @return the node's id */
    public long nodeId()
    {
        return config.nodeId();
    }

    /**
     * Stops the node as a whole, as an internal failure would (see {@link io.ringraft.Raft#fail}).
     *
     * @param cause why
     */
    public void fail(final Throwable cause)
    {
        failStop.fail(java.util.Objects.requireNonNull(cause, "cause"));
    }

    /** @return the failure that stopped the node, or null */
    public Throwable failure()
    {
        return failStop.cause();
    }

    /** @return the node's counters */
    public RaftCounters counters()
    {
        return counters;
    }

    /** See {@link io.ringraft.Raft#close}. */
    public void close()
    {
        synchronized (drainLock)
        {
            if (closed && stopped)
            {
                return;
            }
            closed = true;
        }
        if (coreRunner != null)
        {
            coreRunner.close();
        }
        if (workerRunner != null)
        {
            workerRunner.close();
        }
        if (invoker != null)
        {
            invoker.close();
        }
        synchronized (drainLock)
        {
            stopped = true;
            core.drain();
            worker.drain();
        }
        try
        {
            network.close();
        }
        finally
        {
            try
            {
                storage.close();
                snapshots.close();
            }
            finally
            {
                counters.close();
            }
        }
    }
}
