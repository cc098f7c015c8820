package io.ringraft;

import io.ringraft.engine.Role;
import io.ringraft.network.RaftNetwork;
import io.ringraft.runtime.NodeRuntime;
import io.ringraft.statemachine.RaftStateMachine;
import io.ringraft.storage.InMemorySnapshotStore;
import io.ringraft.storage.RaftLogStorage;
import io.ringraft.storage.RaftSnapshotStore;
import io.ringraft.storage.SnapshotMeta;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;
import java.util.function.Predicate;

/**
 * The handle an application holds on its Raft node: client writes, linearizable reads, metrics,
 * triggers and shutdown. In {@link ThreadingMode#SHARED} and {@link ThreadingMode#DEDICATED} any
 * number of application threads may call it; in {@link ThreadingMode#INVOKER} too, except
 * {@link #doWork()} (one thread at a time, never with {@link #close()}), and
 * {@link #waitFor}, which runs duty cycles itself and so must be called from the thread that drives
 * {@code doWork()}.
 * <p>
 * Fail-stop: when any part of the node fails (its storage, its state machine, a broken invariant),
 * the whole node stops at once: it leads no more and sends nothing, every call it had accepted and
 * every later call is answered {@link WriteStatus#FATAL} ({@link AdminStatus#FATAL} for
 * administration; {@link RaftException} with status {@code FATAL} and the cause for futures), and
 * {@link #failure()} and the {@link RaftConfig#errorHandler error handler} give the cause. Restart
 * it (a new {@code Raft} on the same storage) once the cause is fixed.
 *
 * <pre>{@code
 * Raft raft = Raft.start(new RaftConfig().nodeId(1), storage, network, stateMachine, Membership.of(1, 2, 3));
 * raft.waitFor(m -> m.leaderId() != Vote.NO_NODE, Duration.ofSeconds(5));
 * WriteResult r = raft.clientWrite("put x 1".getBytes()).get();
 * }</pre>
 */
public final class Raft implements AutoCloseable
{
    private final NodeRuntime runtime;

    private Raft(final NodeRuntime runtime)
    {
        this.runtime = runtime;
    }

    /**
     * Starts a node on a log kept in memory, with its snapshots in memory too
     * ({@link InMemorySnapshotStore}). The node owns {@code storage} and {@code network} from now
     * on and closes them on {@link #close()}. A durable log (one that survives a restart) is
     * refused here: it needs a durable snapshot store, given to
     * {@link #start(RaftConfig, RaftLogStorage, RaftSnapshotStore, RaftNetwork, RaftStateMachine, Membership)}.
     *
     * @param config            the settings ({@link RaftConfig#conclude()} is called here)
     * @param storage           the node's log and vote
     * @param network           how it reaches its peers
     * @param stateMachine      the application's state
     * @param initialMembership the cluster to initialize if this node's log is empty (a new
     *                          cluster: pass the same membership on every initial member), or null
     *                          to start uninitialized
     * @return the running node
     */
    public static Raft start(final RaftConfig config, final RaftLogStorage storage, final RaftNetwork network,
        final RaftStateMachine stateMachine, final Membership initialMembership)
    {
        return start(config, storage, new InMemorySnapshotStore(), network, stateMachine, initialMembership);
    }

    /**
     * Starts a node with a snapshot store. On start, a state machine that is behind the latest
     * snapshot is loaded from it, then the log after it is applied. The node owns the storage,
     * the snapshot store and the network from now on and closes them on {@link #close()}.
     *
     * @param config            the settings ({@link RaftConfig#conclude()} is called here)
     * @param storage           the node's log and vote
     * @param snapshots         where the node keeps its snapshots
     * @param network           how it reaches its peers
     * @param stateMachine      the application's state
     * @param initialMembership the cluster to initialize if this node's log is empty, or null
     * @return the running node
     * @throws IllegalArgumentException if a setting is invalid, or if the log is durable and the
     *                                  snapshot store is not ({@link RaftLogStorage#isDurable()}):
     *                                  snapshots purge the log, so such a node could not restart
     */
    public static Raft start(final RaftConfig config, final RaftLogStorage storage, final RaftSnapshotStore snapshots,
        final RaftNetwork network, final RaftStateMachine stateMachine, final Membership initialMembership)
    {
        config.conclude();
        if (storage.isDurable() && !snapshots.isDurable())
        {
            throw new IllegalArgumentException("a durable log (" + storage.getClass().getSimpleName() + ") needs a durable snapshot store, not " +
                snapshots.getClass().getSimpleName() + ": snapshots purge the log, so a restart would find neither; pass one that keeps its " +
                "snapshots in files (FileSnapshotStore) to Raft.start(config, storage, snapshots, network, stateMachine, membership)");
        }
        final int wireOverhead = RaftConfig.MESSAGE_OVERHEAD;
        if (config.maxPayloadLength() == 0)
        {
            config.maxPayloadLength((int)Math.min(RaftConfig.DEFAULT_MAX_PAYLOAD_LENGTH, (long)network.maxMessageLength() - wireOverhead));
        }
        if (config.maxPayloadLength() <= 0 || (long)config.maxPayloadLength() + wireOverhead > network.maxMessageLength())
        {
            throw new IllegalArgumentException("maxPayloadLength=" + config.maxPayloadLength() + ": an entry must fit the network's " +
                "largest message (" + network.maxMessageLength() + " bytes, less " + wireOverhead + " for framing)");
        }
        return new Raft(NodeRuntime.start(config, storage, snapshots, network, stateMachine, initialMembership));
    }

    /**
     * Submits a write without allocating: the payload is copied into the ingress ring and the
     * outcome reaches {@code handler} exactly once, later.
     *
     * @param payload       the command bytes
     * @param offset        where they start
     * @param length        how many
     * @param correlationId echoed to the handler
     * @param handler       receives the outcome
     * @return {@link WriteStatus#OK} if accepted (the outcome follows through the handler), else
     *         the {@link WriteStatus} that refused it at once ({@link WriteStatus#BACK_PRESSURED},
     *         {@link WriteStatus#PAYLOAD_TOO_LARGE}, {@link WriteStatus#SHUT_DOWN},
     *         {@link WriteStatus#FATAL}); no handler call follows a refusal
     */
    public int clientWrite(final DirectBuffer payload, final int offset, final int length, final long correlationId,
        final WriteHandler handler)
    {
        return runtime.clientWrite(payload, offset, length, correlationId, handler);
    }

    /**
     * Submits a write. The future completes with the outcome, whatever it is (never
     * exceptionally): {@link WriteResult#isOk()} tells success.
     *
     * @param payload the command bytes (copied)
     * @return the outcome
     */
    public CompletableFuture<WriteResult> clientWrite(final byte[] payload)
    {
        final CompletableFuture<WriteResult> future = new CompletableFuture<>();
        final WriteHandler handler = (correlationId, status, index, leaderId, response, offset, length) ->
        {
            final byte[] bytes = new byte[length];
            response.getBytes(offset, bytes);
            future.complete(new WriteResult(status, index, leaderId, bytes));
        };
        final int status = runtime.clientWrite(new UnsafeBuffer(payload), 0, payload.length, 0, handler);
        if (status != WriteStatus.OK)
        {
            future.complete(new WriteResult(status, 0, Vote.NO_NODE, new byte[0]));
        }
        return future;
    }

    /**
     * A linearizable read barrier by ReadIndex (Raft thesis §6.4): completes with an applied index
     * once this node's state machine reflects every write committed before the call, so that
     * reading the local state afterwards is linearizable. Only the leader serves it; elsewhere
     * the future fails with a {@link RaftException} naming the leader when known.
     *
     * @return the index the state machine has applied at least
     */
    public CompletableFuture<Long> ensureLinearizable()
    {
        return runtime.ensureLinearizable(ReadPolicy.READ_INDEX);
    }

    /**
     * A linearizable read barrier with a choice of how it is confirmed; see {@link ReadPolicy}.
     *
     * @param policy {@link ReadPolicy#READ_INDEX} or {@link ReadPolicy#LEASE}
     * @return the index the state machine has applied at least
     */
    public CompletableFuture<Long> ensureLinearizable(final ReadPolicy policy)
    {
        return runtime.ensureLinearizable(policy);
    }

    /**
     * Changes the voters by joint consensus (Raft §6). Nodes to add must be members already
     * (learners: see {@link #addLearner}); the change waits for them to catch up, then moves
     * through the joint configuration to the new one. At most one change at a time. Removing the
     * leader is allowed: it finishes the change, then steps down.
     *
     * @param voters                  the new voter set
     * @param retainRemovedAsLearners keep removed voters as learners
     * @param timeout                 how long it may take; a change that times out before its
     *                                joint phase leaves the membership as it was
     * @return the outcome, never completed exceptionally
     */
    public CompletableFuture<AdminResult> changeMembership(final long[] voters, final boolean retainRemovedAsLearners, final Duration timeout)
    {
        return runtime.changeMembership(voters.clone(), retainRemovedAsLearners, timeout.toNanos());
    }

    /**
     * Adds a learner: a member that replicates and applies but never votes and never counts
     * toward a quorum.
     *
     * @param node     the new node's id
     * @param endpoint its address for the network, or null if the network knows it
     * @param timeout  how long it may take
     * @return the outcome once the membership entry commits
     */
    public CompletableFuture<AdminResult> addLearner(final long node, final String endpoint, final Duration timeout)
    {
        return runtime.addLearner(node, endpoint, timeout.toNanos());
    }

    /**
     * Removes a learner (to remove a voter, change the voters).
     *
     * @param node    a learner
     * @param timeout how long it may take
     * @return the outcome once the membership entry commits
     */
    public CompletableFuture<AdminResult> removeLearner(final long node, final Duration timeout)
    {
        return runtime.removeLearner(node, timeout.toNanos());
    }

    /**
     * Hands leadership to {@code target}: writes are refused with {@link WriteStatus#TRANSFERRING}
     * while the target catches up, then it is told to stand at once. A target that does not take
     * over in time ends the transfer with {@link AdminStatus#TIMED_OUT} and this leader resumes.
     *
     * @param target  a voter
     * @param timeout how long to try
     * @return the outcome
     */
    public CompletableFuture<AdminResult> transferLeader(final long target, final Duration timeout)
    {
        return runtime.transferLeader(target, timeout.toNanos());
    }

    /**
     * Builds a snapshot of the state machine now (on the node's snapshot thread, see
     * {@link RaftConfig#snapshotExecutor}: the node goes on heartbeating, replicating and
     * committing, and applies again once it is built), then purges the log behind it, keeping
     * {@link RaftConfig#logRetainEntries}.
     *
     * @return the snapshot's meta
     */
    public CompletableFuture<SnapshotMeta> triggerSnapshot()
    {
        return runtime.triggerSnapshot();
    }

    /** @return a snapshot of the node's state */
    public RaftMetrics metrics()
    {
        return runtime.metrics();
    }

    /**
     * Waits until the node's metrics satisfy {@code condition}. In {@link ThreadingMode#INVOKER} it runs the node's
     * duty cycle meanwhile, unless another live thread drives the node ({@link #driverThread()}: an agent runner),
     * since a node's duty cycle must run on one thread at a time.
     *
     * @param condition what to wait for, e.g. {@code m -> m.appliedIndex() >= 100}
     * @param timeout   how long at most
     * @return the metrics that satisfied it
     * @throws TimeoutException     if the time ran out; the message holds the last metrics
     * @throws InterruptedException if interrupted
     */
    public RaftMetrics waitFor(final Predicate<RaftMetrics> condition, final Duration timeout) throws TimeoutException, InterruptedException
    {
        final long deadline = System.nanoTime() + timeout.toNanos();
        RaftMetrics m = metrics();
        while (!condition.test(m))
        {
            if (System.nanoTime() >= deadline)
            {
                throw new TimeoutException("condition not met within " + timeout + "; last metrics " + m);
            }
            final Thread driver = runtime.isInvoker() ? runtime.driverThread() : null;
            if (runtime.isInvoker() && (driver == null || driver == Thread.currentThread() || !driver.isAlive()))
            {
                doWork();
            }
            else
            {
                Thread.sleep(1);
            }
            m = metrics();
        }
        return m;
    }

    /** Starts an election on this node now (if it is a voter and not the leader). */
    public void triggerElection()
    {
        runtime.triggerElection();
    }

    /** Makes the leader send heartbeats now. */
    public void triggerHeartbeat()
    {
        runtime.triggerHeartbeat();
    }

    /**
     * Runs one duty cycle of the node's agents: only in {@link ThreadingMode#INVOKER}, where the
     * application drives the node; never concurrently with {@link #close()}.
     *
     * @return the work done
     */
    public int doWork()
    {
        return runtime.doWork();
    }

    /**
     * Sets what runs after every input another thread hands this node ({@link #clientWrite}, read barriers, admin
     * calls), on that thread, and after the log storage's asynchronous syncs
     * ({@link io.ringraft.storage.RaftLogStorage#durabilitySignal}): for a duty cycle that sleeps when idle, the call
     * that wakes it, e.g. {@link YieldThenWaitIdleStrategy#wake()}. It must be cheap and must not throw. Null for none.
     *
     * @param signal run after each input is published, or null
     */
    public void inputSignal(final Runnable signal)
    {
        runtime.inputSignal(signal);
    }

    /**
     * @return true if input handed to the node by another thread waits to be taken by its duty cycle, or a log sync
     *         completed since the duty cycle last asked the storage ({@link io.ringraft.storage.RaftLogStorage#durableIndexNow}):
     *         what a duty cycle checks before it sleeps (see {@link YieldThenWaitIdleStrategy}), on its own thread (from
     *         another thread the sync part is a hint). Allocation-free.
     */
    public boolean hasPendingInput()
    {
        return runtime.hasPendingInput();
    }

    /**
     * @return in {@link ThreadingMode#INVOKER}, the thread that last ran {@link #doWork()} (the node's driver, e.g. the
     *         thread of the agent runner that composes it), or null if none has yet; null in the other modes
     */
    public Thread driverThread()
    {
        return runtime.isInvoker() ? runtime.driverThread() : null;
    }

    /** @return true if the node runs in {@link ThreadingMode#INVOKER}: its owner drives it with {@link #doWork()} */
    public boolean isInvoker()
    {
        return runtime.isInvoker();
    }

    /**
     * @return the failure that stopped this node (a storage error, a state machine that threw, a
     *         broken invariant), or null while it runs; a failed node answers every call
     *         {@link WriteStatus#FATAL} until closed
     */
    public Throwable failure()
    {
        return runtime.failure();
    }

    /**
     * Stops this node as a whole, as its own internal failure would (fail-stop): it stops leading
     * at once, answers everything pending and every later call {@link WriteStatus#FATAL} with
     * {@code cause}, marks its counters and reports {@code cause} through the configured error
     * handler. For a part the application runs around the node whose failure leaves the node unable
     * to keep its promises (a service's client ingress whose Aeron client stopped, say), so that
     * the node never goes on half-running. The first failure is kept; a later call only reports.
     * Safe from any thread; {@link #close()} is still needed to release the resources.
     *
     * @param cause why the node stops
     */
    public void fail(final Throwable cause)
    {
        runtime.fail(cause);
    }

    /** @return this node's id */
    public long nodeId()
    {
        return runtime.nodeId();
    }

    /**
     * @return true if this node believes it is the leader; reads a counter, allocates nothing, and
     *         may be called from any thread
     */
    public boolean isLeader()
    {
        return runtime.role() == Role.LEADER;
    }

    /**
     * The accessors below read the node's counters: they allocate nothing, may be called from any
     * thread at any rate, and see the value of the core's last duty cycle (a value an instant old,
     * never a torn one). {@link #metrics()} gives all of them together.
     *
     * @return the node's role
     */
    public Role role()
    {
        return runtime.role();
    }

    /** @return the leader this node knows of, or {@link Vote#NO_NODE}; see {@link #role()} */
    public long leaderId()
    {
        return runtime.leaderId();
    }

    /** @return the node's current term; see {@link #role()} */
    public long term()
    {
        return runtime.term();
    }

    /** @return the commit index this node knows; see {@link #role()} */
    public long commitIndex()
    {
        return runtime.commitIndex();
    }

    /** @return the last index this node's state machine applied; see {@link #role()} */
    public long appliedIndex()
    {
        return runtime.appliedIndex();
    }

    /**
     * Whether this node's state may be read locally (a non-linearizable read, without
     * {@link #ensureLinearizable()}): a restarted node refuses until its state machine has applied
     * at least the commit index it had seen before it stopped (as its log storage kept it, see
     * {@link RaftLogStorage#saveCommitted}), so a reader that failed over to it does not see a state
     * older than one it may have read there before. Serve a local read only when this returns
     * {@link WriteStatus#OK}. Allocates nothing, any thread.
     *
     * @return {@link WriteStatus#OK}, {@link WriteStatus#NOT_READY} while catching up,
     *         {@link WriteStatus#FATAL} after a failure or {@link WriteStatus#SHUT_DOWN} once closed
     */
    public int localReadStatus()
    {
        return runtime.localReadStatus();
    }

    /**
     * @return the commit index this node had seen before it last stopped, which local reads wait
     *         for (see {@link #localReadStatus()}); 0 for a new node
     */
    public long readyIndex()
    {
        return runtime.readyIndex();
    }

    /** @return the index of the last entry in this node's log; see {@link #role()} */
    public long lastLogIndex()
    {
        return runtime.lastLogIndex();
    }

    /**
     * Stops the node's threads, answers every pending call with {@link WriteStatus#SHUT_DOWN},
     * and closes the network and the storage. Idempotent.
     */
    @Override
    public void close()
    {
        runtime.close();
    }
}
