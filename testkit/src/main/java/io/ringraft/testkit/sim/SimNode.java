package io.ringraft.testkit.sim;

import io.ringraft.LogId;
import io.ringraft.Membership;
import io.ringraft.engine.Role;
import io.ringraft.network.RaftMessage;
import io.ringraft.statemachine.KvStateMachine;

/**
 * One node of a {@link SimCluster}, as the cluster drives it: inputs in simulated time, crash and
 * restart, client requests, and read access to its state for metrics and invariant checks.
 * <p>
 * {@link EngineSimNode} drives the bare {@link io.ringraft.engine.Engine}; {@link RuntimeSimNode} runs the
 * real runtime ({@link io.ringraft.Raft} in {@code INVOKER} mode). Every method runs on the simulator's one thread; callbacks never re-enter the
 * node (a client reacts by scheduling an event).
 */
public interface SimNode
{
    /** @return the node id, positive */
    long id();

    /**
     * Starts the node for the first time; with a membership, as a founding member (its initial
     * membership entry durable at once), else uninitialized, to be added later.
     *
     * @param membership the founding membership, or null
     * @param simNanos   the simulated time
     */
    void start(Membership membership, long simNanos);

    /** @return false while crashed */
    boolean isUp();

    /** @return how many times the node crashed */
    int crashes();

    /**
     * @param simNanos a simulated time
     * @return the node's local clock at that time (skewed by its drift)
     */
    long localClock(long simNanos);

    /**
     * @return the simulated time at which the node next needs {@link #tick}, or
     *         {@link Long#MAX_VALUE} if it has no timer; only valid while up
     */
    long nextWakeup();

    /**
     * Fires due timers.
     *
     * @param simNanos the simulated time
     */
    void tick(long simNanos);

    /**
     * Delivers a message from the network.
     *
     * @param message  the message, addressed to this node
     * @param simNanos the simulated time
     */
    void deliver(RaftMessage message, long simNanos);

    /**
     * Completes the pending log flush: what the storage made durable is reported to the node.
     *
     * @param simNanos the simulated time
     */
    void flush(long simNanos);

    /** Crashes the node: it loses everything not flushed, and all its volatile state. */
    void crash();

    /**
     * Restarts a crashed node from its durable vote and log, with an empty state machine.
     *
     * @param simNanos the simulated time
     */
    void restart(long simNanos);

    /**
     * Submits a client command.
     *
     * @param payload  the encoded command
     * @param callback told how it ends; only if the returned index is positive
     * @param simNanos the simulated time
     * @return the log index it was appended at, 0 if accepted but its index is not known yet (the runtime
     *         tells it with the outcome), or a negative code: refused, not written
     */
    long submit(byte[] payload, WriteCallback callback, long simNanos);

    /**
     * Starts a linearizable read (ReadIndex); the callback runs once the node has applied the
     * read index, or when the read fails.
     *
     * @param callback told how it ends
     * @param simNanos the simulated time
     */
    void readIndex(ReadCallback callback, long simNanos);

    /**
     * Starts a lease read: served at once by a leader whose lease holds, otherwise like
     * {@link #readIndex}.
     *
     * @param callback told how it ends
     * @param simNanos the simulated time
     */
    void leaseRead(ReadCallback callback, long simNanos);

    /**
     * @param simNanos the simulated time
     */
    void triggerElection(long simNanos);

    /**
     * @param simNanos the simulated time
     */
    void triggerHeartbeat(long simNanos);

    /**
     * Asks the leader to hand leadership to {@code target}; the outcome reaches
     * {@link SimCluster#adminOutcome(long)}.
     *
     * @param target       the node to lead next
     * @param timeoutNanos how long the leader tries before it gives up and takes writes again
     * @param simNanos     the simulated time
     * @return the request id
     */
    long transferLeader(long target, long timeoutNanos, long simNanos);

    /**
     * Builds a snapshot of the state machine at its applied point, if newer than the latest,
     * and tells the node (which may then purge its log).
     *
     * @param simNanos the simulated time
     */
    void buildSnapshot(long simNanos);

    /**
     * Asks the leader to add {@code node} as a learner; the outcome reaches {@link SimCluster#adminOutcome(long)}.
     *
     * @param node     the new learner
     * @param simNanos the simulated time
     * @return the request id
     */
    long addLearner(long node, long simNanos);

    /**
     * Asks the leader to change the voters by joint consensus; the outcome reaches
     * {@link SimCluster#adminOutcome(long)}.
     *
     * @param newVoters               the voters of the new configuration
     * @param retainRemovedAsLearners keep removed voters as learners
     * @param simNanos                the simulated time
     * @return the request id
     */
    long changeMembership(long[] newVoters, boolean retainRemovedAsLearners, long simNanos);

    /**
     * @param index a log index
     * @return the membership in force at {@code index} as this node knows it, or null (crashed, or
     *         not known)
     */
    Membership membershipAt(long index);

    /** @return the membership in force, or null while crashed or uninitialized */
    Membership membership();

    /** @return how many snapshots received from a leader the node installed */
    int snapshotsInstalled();

    /** @return the metrics of the node */
    NodeMetrics metrics();

    /** @return its role, or null while crashed */
    Role role();

    /** @return the leader the node knows, or {@link io.ringraft.Vote#NO_NODE} (also while crashed) */
    long leaderId();

    /** @return its current term (the durable vote's term while crashed) */
    long currentTerm();

    /** @return its commit index, 0 while crashed */
    long committedIndex();

    /** @return the last index it has applied, 0 while crashed */
    long appliedIndex();

    /** @return its log (the durable image while crashed) */
    SimLogStorage log();

    /** @return its state machine, or null while crashed */
    KvStateMachine stateMachine();

    /** @return the switches of the node's engine: timers, a purge (see {@link io.ringraft.engine.TestControl}) */
    io.ringraft.engine.TestControl testControl();

    /**
     * Replaces the node's disk while it is down: its log, vote and snapshots are gone, and it
     * restarts empty (uninitialized, to be added again by a leader).
     *
     * @throws IllegalStateException if the node is up
     */
    void replaceDisk();

    /**
     * Writes a hand-built durable state before the node ever ran; the node then starts from it as
     * from a restart.
     *
     * @param state  the state
     * @param voters the membership of its first log entry or snapshot
     * @throws IllegalStateException if the node ran or holds a state already
     */
    void seed(NodeState state, Membership voters);

    /** @return its last log id */
    default LogId lastLogId()
    {
        return log().lastLogId();
    }

    /** How a submitted command ends, as seen from the node that accepted it. */
    interface WriteCallback
    {
        /**
         * The node applied the command at the index and term it was written in.
         *
         * @param index  its index
         * @param result the state machine's result string (null = absent)
         */
        void applied(long index, String result);

        /**
         * The node applied a different entry at that index: the command was never committed.
         *
         * @param index its index
         */
        void superseded(long index);

        /**
         * The node can no longer tell the command's fate: it crashed, or it reused the index for
         * another command before applying it.
         */
        void unknown();
    }

    /** How a ReadIndex read ends. */
    interface ReadCallback
    {
        /**
         * The read is confirmed and the state machine has applied the read index: read it now.
         *
         * @param stateMachine the node's state machine, to read from during this call only
         */
        void ready(KvStateMachine stateMachine);

        /**
         * The read could not be served here.
         *
         * @param leaderHint the leader the node knows, or {@link io.ringraft.Vote#NO_NODE}
         */
        void failed(long leaderHint);
    }
}
