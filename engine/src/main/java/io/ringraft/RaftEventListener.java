package io.ringraft;

import io.ringraft.engine.Role;
import io.ringraft.storage.SnapshotMeta;

/**
 * Learns of a node's changes as they happen, instead of polling {@link Raft#metrics()}: role,
 * leader and term, membership, snapshots, and the failure that stopped the node.
 * <p>
 * Threads: every event but {@link #onFatal} is called on the node's core thread ({@code RaftCore};
 * in {@link ThreadingMode#INVOKER} the thread that calls {@link Raft#doWork()}), in the order the
 * changes happen; {@link #onFatal} is called once, on the thread that met the failure. Nothing is
 * allocated to call it. Keep it short and never block: the core thread also sends the heartbeats.
 * What it throws is caught and reported to {@link RaftConfig#errorHandler}; the node goes on.
 * Every method does nothing by default.
 */
public interface RaftEventListener
{
    /** Does nothing. */
    RaftEventListener NONE = new RaftEventListener()
    {
    };

    /**
     * The node's role, term or known leader changed (also called once at start).
     *
     * @param nodeId   this node
     * @param role     its role now
     * @param term     its current term
     * @param leaderId the leader it knows, or {@link Vote#NO_NODE}
     */
    default void onRoleChange(final long nodeId, final Role role, final long term, final long leaderId)
    {
    }

    /**
     * The membership in effect changed: a membership entry was appended (joint or final), or came
     * with a snapshot (also called once at start).
     *
     * @param nodeId     this node
     * @param membership the membership now in effect
     */
    default void onMembershipChange(final long nodeId, final Membership membership)
    {
    }

    /**
     * This node built a snapshot (and may now purge its log behind it).
     *
     * @param nodeId this node
     * @param meta   the snapshot
     */
    default void onSnapshotBuilt(final long nodeId, final SnapshotMeta meta)
    {
    }

    /**
     * This node received a snapshot from the leader, which replaces its log up to it; the state
     * machine loads it next, before any entry after it.
     *
     * @param nodeId this node
     * @param meta   the snapshot
     */
    default void onSnapshotInstalled(final long nodeId, final SnapshotMeta meta)
    {
    }

    /**
     * The node failed and stopped (see {@link Raft#failure()}); called once, before the calls it
     * had accepted are answered {@link WriteStatus#FATAL}.
     *
     * @param nodeId this node
     * @param cause  the failure
     */
    default void onFatal(final long nodeId, final Throwable cause)
    {
    }
}
