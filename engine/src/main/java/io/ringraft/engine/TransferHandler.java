package io.ringraft.engine;

import io.ringraft.AdminStatus;
import io.ringraft.Vote;
import io.ringraft.network.TimeoutNow;

/**
 * Leader transfer (Raft thesis §3.10): the leader stops taking writes, brings the target up to
 * date, and sends it TimeoutNow; the target stands at once and its voters grant despite the
 * lease. If the target does not take over in time, the leader resumes writes.
 */
final class TransferHandler
{
    private final Engine engine;
    private long requestId;
    private long target = Vote.NO_NODE;
    private long deadlineNanos = Long.MAX_VALUE;
    private boolean sent;
    private boolean handedOver;

    TransferHandler(final Engine engine)
    {
        this.engine = engine;
    }

    boolean transferring()
    {
        return target != Vote.NO_NODE;
    }

    long deadlineNanos()
    {
        return transferring() ? deadlineNanos : Long.MAX_VALUE;
    }

    void transferLeader(final long requestId, final long target, final long timeoutNanos)
    {
        if (engine.role != Role.LEADER)
        {
            engine.output.adminResult(requestId, AdminStatus.NOT_LEADER, 0, engine.leaderId, "node " + engine.self + " is not the leader");
            return;
        }
        if (transferring() || engine.membershipHandler.changing())
        {
            engine.output.adminResult(requestId, AdminStatus.IN_PROGRESS, 0, Vote.NO_NODE, "a membership change or leader transfer is in flight");
            return;
        }
        if (target == engine.self)
        {
            engine.output.adminResult(requestId, AdminStatus.OK, 0, engine.self, "node " + target + " already leads");
            return;
        }
        if (!engine.memberships.effective().isVoter(target))
        {
            engine.output.adminResult(requestId, AdminStatus.INVALID, 0, Vote.NO_NODE, "node " + target + " is not a voter of " +
                engine.memberships.effective());
            return;
        }
        this.requestId = requestId;
        this.target = target;
        this.deadlineNanos = engine.nowNanos + timeoutNanos;
        this.sent = false;
        this.handedOver = false;
        check();
    }

    /** Sends TimeoutNow once the target holds the whole log; gives up at the deadline. */
    void check()
    {
        if (!transferring() || engine.role != Role.LEADER)
        {
            return;
        }
        if (engine.nowNanos >= deadlineNanos)
        {
            final long t = target;
            target = Vote.NO_NODE;
            engine.output.adminResult(requestId, AdminStatus.TIMED_OUT, 0, engine.self, "node " + t +
                " did not take over in time; node " + engine.self + " leads on and takes writes again");
            return;
        }
        if (!sent && engine.replicationHandler.matchIndex(target) >= engine.log.lastIndex())
        {
            sent = true;
            handedOver = true;
            engine.output.send(new TimeoutNow(engine.self, target, engine.vote.term()));
        }
    }

    /** TimeoutNow may be lost: send it again with each heartbeat while the target is up to date. */
    void onHeartbeat()
    {
        sent = false;
        check();
    }

    void onStepDown()
    {
        if (transferring())
        {
            final long t = target;
            target = Vote.NO_NODE;
            if (handedOver)
            {
                engine.output.adminResult(requestId, AdminStatus.OK, 0, t, "handed over to node " + t);
            }
            else
            {
                engine.output.adminResult(requestId, AdminStatus.LEADER_CHANGED, 0, Vote.NO_NODE, "node " + engine.self +
                    " lost leadership before node " + t + " was up to date");
            }
        }
    }
}
