package io.ringraft.runtime;

import io.ringraft.Membership;
import io.ringraft.RaftEventListener;
import io.ringraft.engine.Role;
import io.ringraft.storage.SnapshotMeta;

/**
 * {@link RaftCore}'s calls to the application's {@link RaftEventListener}: what the listener throws
 * is reported through {@link FailStop} and does not stop the node.
 */
final class Events
{
    private final long nodeId;
    private final RaftEventListener listener;
    private final FailStop failStop;

    Events(final long nodeId, final RaftEventListener listener, final FailStop failStop)
    {
        this.nodeId = nodeId;
        this.listener = listener;
        this.failStop = failStop;
    }

    void roleChanged(final Role role, final long term, final long leaderId)
    {
        try
        {
            listener.onRoleChange(nodeId, role, term, leaderId);
        }
        catch (final Throwable ex)
        {
            failStop.callbackFailed(ex);
        }
    }

    void membershipChanged(final Membership membership)
    {
        try
        {
            listener.onMembershipChange(nodeId, membership);
        }
        catch (final Throwable ex)
        {
            failStop.callbackFailed(ex);
        }
    }

    void snapshotBuilt(final SnapshotMeta meta)
    {
        try
        {
            listener.onSnapshotBuilt(nodeId, meta);
        }
        catch (final Throwable ex)
        {
            failStop.callbackFailed(ex);
        }
    }

    void snapshotInstalled(final SnapshotMeta meta)
    {
        try
        {
            listener.onSnapshotInstalled(nodeId, meta);
        }
        catch (final Throwable ex)
        {
            failStop.callbackFailed(ex);
        }
    }
}
