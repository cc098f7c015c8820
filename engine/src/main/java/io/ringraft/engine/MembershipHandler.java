package io.ringraft.engine;

import io.ringraft.AdminStatus;
import io.ringraft.Membership;
import io.ringraft.Vote;

import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.LongStream;

/**
 * Membership changes on the leader (Raft §6, joint consensus): new voters first catch up as
 * learners (thesis §4.2.1), then the joint configuration is appended (decisions need a majority
 * of the old and of the new voters), and once it commits the final one. At most one change is in
 * flight. A change whose new voters never catch up times out with nothing changed; one that
 * reached its joint phase always completes once a quorum of both configurations is reachable,
 * whoever leads by then.
 */
final class MembershipHandler
{
    private static final int IDLE = 0;
    private static final int CATCHING_UP = 1;
    private static final int JOINT = 2;
    private static final int FINAL = 3;
    private static final int LEARNER = 4;
    /** Waiting for an inherited membership entry to commit before starting the request. */
    private static final int WAITING = 5;
    private static final long NO_REQUEST = Long.MIN_VALUE;
    private static final int WAIT_CHANGE = 0;
    private static final int WAIT_ADD = 1;
    private static final int WAIT_REMOVE = 2;

    private final Engine engine;
    private int phase = IDLE;
    private long requestId = NO_REQUEST;
    private long[] targetVoters;
    private Membership finalMembership;
    private long entryIndex;
    private long deadlineNanos = Long.MAX_VALUE;
    /** New voters must hold the log up to here: the commit index when the change began. */
    private long catchUpIndex;
    private boolean checking;
    // The request held while WAITING.
    private int waitingKind;
    private long[] waitingVoters;
    private boolean waitingRetain;
    private long waitingNode;
    private String waitingEndpoint;

    MembershipHandler(final Engine engine)
    {
        this.engine = engine;
    }

    /** @return true while a change this leader started is in flight */
    boolean changing()
    {
        return phase != IDLE;
    }

    long deadlineNanos()
    {
        return requestId == NO_REQUEST ? Long.MAX_VALUE : deadlineNanos;
    }

    void changeMembership(final long requestId, final long[] newVoters, final boolean retainRemovedAsLearners, final long timeoutNanos)
    {
        if (!checkCanStart(requestId))
        {
            return;
        }
        this.deadlineNanos = engine.nowNanos + timeoutNanos;
        if (inheritedUncommitted())
        {
            this.requestId = requestId;
            waitingKind = WAIT_CHANGE;
            waitingVoters = newVoters.clone();
            waitingRetain = retainRemovedAsLearners;
            phase = WAITING;
            return;
        }
        beginChange(requestId, newVoters, retainRemovedAsLearners);
    }

    private void beginChange(final long requestId, final long[] newVoters, final boolean retainRemovedAsLearners)
    {
        final Membership current = engine.memberships.effective();
        final long[] target = LongStream.of(newVoters).distinct().sorted().toArray();
        if (target.length == 0)
        {
            result(requestId, AdminStatus.INVALID, 0, "the new voter set is empty");
            return;
        }
        for (final long node : target)
        {
            if (!current.contains(node))
            {
                result(requestId, AdminStatus.INVALID, 0, "node " + node + " is not a member: add it as a learner first");
                return;
            }
        }
        if (Arrays.equals(target, current.voters()))
        {
            result(requestId, AdminStatus.OK, engine.memberships.effectiveIndex(), "the voters are already " + Arrays.toString(target));
            return;
        }
        final long[] learners = LongStream.concat(LongStream.of(current.learners()),
            retainRemovedAsLearners ? LongStream.of(current.voters()) : LongStream.empty())
            .filter(n -> Arrays.binarySearch(target, n) < 0).distinct().sorted().toArray();
        final Map<Long, String> endpoints = new TreeMap<>(current.endpoints());
        if (!retainRemovedAsLearners)
        {
            for (final long removed : current.voters())
            {
                if (Arrays.binarySearch(target, removed) < 0)
                {
                    endpoints.remove(removed);
                }
            }
        }
        this.requestId = requestId;
        this.targetVoters = target;
        this.finalMembership = Membership.of(target, new long[0], learners, endpoints);
        this.catchUpIndex = engine.committedIndex;
        this.phase = CATCHING_UP;
        check();
    }

    void addLearner(final long requestId, final long node, final String endpoint, final long timeoutNanos)
    {
        if (!checkCanStart(requestId))
        {
            return;
        }
        this.deadlineNanos = engine.nowNanos + timeoutNanos;
        if (inheritedUncommitted())
        {
            this.requestId = requestId;
            waitingKind = WAIT_ADD;
            waitingNode = node;
            waitingEndpoint = endpoint;
            phase = WAITING;
            return;
        }
        beginAddLearner(requestId, node, endpoint);
    }

    private void beginAddLearner(final long requestId, final long node, final String endpoint)
    {
        final Membership current = engine.memberships.effective();
        if (node <= 0)
        {
            result(requestId, AdminStatus.INVALID, 0, "node ids must be positive, got " + node);
            return;
        }
        if (current.contains(node))
        {
            result(requestId, AdminStatus.INVALID, 0, "node " + node + " is already a member of " + current);
            return;
        }
        final String taken = endpointInUse(current, endpoint);
        if (taken != null)
        {
            result(requestId, AdminStatus.INVALID, 0, taken);
            return;
        }
        this.requestId = requestId;
        this.phase = LEARNER;
        this.entryIndex = engine.leaderHandler.appendMembership(current.withLearner(node, endpoint));
        check();
    }

    void removeLearner(final long requestId, final long node, final long timeoutNanos)
    {
        if (!checkCanStart(requestId))
        {
            return;
        }
        this.deadlineNanos = engine.nowNanos + timeoutNanos;
        if (inheritedUncommitted())
        {
            this.requestId = requestId;
            waitingKind = WAIT_REMOVE;
            waitingNode = node;
            phase = WAITING;
            return;
        }
        beginRemoveLearner(requestId, node);
    }

    private void beginRemoveLearner(final long requestId, final long node)
    {
        final Membership current = engine.memberships.effective();
        if (!current.isLearner(node))
        {
            result(requestId, AdminStatus.INVALID, 0, "node " + node + (current.isVoter(node) ?
                " is a voter: change the voters to remove it" : " is not a member of " + current));
            return;
        }
        final long[] learners = LongStream.of(current.learners()).filter(n -> n != node).toArray();
        final Map<Long, String> endpoints = new TreeMap<>(current.endpoints());
        endpoints.remove(node);
        this.requestId = requestId;
        this.phase = LEARNER;
        this.entryIndex = engine.leaderHandler.appendMembership(Membership.of(current.voters(), current.nextVoters(), learners, endpoints));
        check();
    }

    /**
     * An endpoint string may list several whitespace-separated addresses (a network's, a client
     * service's): none may already belong to another member.
     *
     * @return why {@code endpoint} cannot be used, or null if it can
     */
    private static String endpointInUse(final Membership current, final String endpoint)
    {
        if (endpoint == null)
        {
            return null;
        }
        for (final String address : endpoint.trim().split("\\s+"))
        {
            for (final Map.Entry<Long, String> e : current.endpoints().entrySet())
            {
                if (Arrays.asList(e.getValue().trim().split("\\s+")).contains(address))
                {
                    return "endpoint " + address + " is already used by node " + e.getKey();
                }
            }
        }
        return null;
    }

    private boolean checkCanStart(final long requestId)
    {
        if (engine.role != Role.LEADER)
        {
            result(requestId, AdminStatus.NOT_LEADER, 0, "node " + engine.self + " is not the leader");
            return false;
        }
        if (phase != IDLE || engine.transferHandler.transferring())
        {
            result(requestId, AdminStatus.IN_PROGRESS, 0, "a membership change or leader transfer is in flight");
            return false;
        }
        return true;
    }

    /** Moves the change along: after acknowledgements, commits and ticks. */
    void check()
    {
        if (engine.role != Role.LEADER || checking)
        {
            return;
        }
        checking = true;
        try
        {
            step();
        }
        finally
        {
            checking = false;
        }
    }

    /** @return true if the last membership entry, appended by an earlier leader, is not committed yet */
    private boolean inheritedUncommitted()
    {
        return engine.memberships.effectiveIndex() > engine.committedIndex;
    }

    private void step()
    {
        final Membership effective = engine.memberships.effective();
        if (effective.isJoint() && phase != JOINT && engine.committedIndex >= engine.memberships.effectiveIndex())
        {
            // A joint configuration committed that no request of this leader drives (an earlier
            // leader's): finish the change.
            engine.leaderHandler.appendMembership(effective.toFinal());
        }
        switch (phase)
        {
            case CATCHING_UP:
                if (caughtUp())
                {
                    final Membership current = engine.memberships.effective();
                    final long[] jointLearners = LongStream.of(current.learners()).filter(n -> Arrays.binarySearch(targetVoters, n) < 0)
                        .toArray();
                    phase = JOINT;
                    entryIndex = engine.leaderHandler.appendMembership(Membership.of(current.voters(), targetVoters, jointLearners,
                        current.endpoints()));
                }
                break;
            case JOINT:
                if (engine.committedIndex >= entryIndex)
                {
                    phase = FINAL;
                    entryIndex = engine.leaderHandler.appendMembership(finalMembership);
                }
                break;
            case FINAL:
            case LEARNER:
                if (engine.committedIndex >= entryIndex)
                {
                    phase = IDLE;
                    result(requestId, AdminStatus.OK, entryIndex, null);
                    requestId = NO_REQUEST;
                }
                break;
            case WAITING:
                if (!inheritedUncommitted())
                {
                    final long id = requestId;
                    requestId = NO_REQUEST;
                    phase = IDLE;
                    if (waitingKind == WAIT_CHANGE)
                    {
                        beginChange(id, waitingVoters, waitingRetain);
                    }
                    else if (waitingKind == WAIT_ADD)
                    {
                        beginAddLearner(id, waitingNode, waitingEndpoint);
                    }
                    else
                    {
                        beginRemoveLearner(id, waitingNode);
                    }
                    return;
                }
                break;
            default:
                break;
        }
        if (requestId != NO_REQUEST && engine.nowNanos >= deadlineNanos)
        {
            if (phase == CATCHING_UP || phase == WAITING)
            {
                result(requestId, AdminStatus.TIMED_OUT, 0, phase == WAITING ?
                    "the membership entry of an earlier leader did not commit in time; nothing changed" :
                    notCaughtUp() + "; nothing changed (a longer timeout waits longer)");
                phase = IDLE;
            }
            else
            {
                result(requestId, AdminStatus.TIMED_OUT, entryIndex, "not committed in time; the change completes once a quorum of " +
                    "every configuration involved is reachable");
            }
            requestId = NO_REQUEST;
        }
    }

    private boolean caughtUp()
    {
        final Membership current = engine.memberships.effective();
        for (final long node : targetVoters)
        {
            // A fixed target, not the moving commit index: under load a new node chasing the
            // latest commit might never reach it (thesis §4.2.1 bounds catch-up by rounds likewise).
            if (node != engine.self && !current.isVoter(node) && engine.replicationHandler.matchIndex(node) < catchUpIndex)
            {
                return false;
            }
        }
        return true;
    }

    /** @return which new voters lag, and how far */
    private String notCaughtUp()
    {
        final StringBuilder lagging = new StringBuilder();
        final Membership current = engine.memberships.effective();
        for (final long node : targetVoters)
        {
            final long matched = engine.replicationHandler.matchIndex(node);
            if (node != engine.self && !current.isVoter(node) && matched < catchUpIndex)
            {
                lagging.append(lagging.length() == 0 ? "" : ", ").append("node ").append(node).append(" holds the log up to ")
                    .append(matched);
            }
        }
        return "new voters did not catch up in time (" + lagging + "; they must reach index " + catchUpIndex + ")";
    }

    void onStepDown()
    {
        if (requestId != NO_REQUEST)
        {
            result(requestId, AdminStatus.LEADER_CHANGED, entryIndex, "node " + engine.self + " lost leadership; the change may or may not complete");
        }
        requestId = NO_REQUEST;
        phase = IDLE;
    }

    private void result(final long requestId, final int status, final long index, final String message)
    {
        if (requestId != NO_REQUEST)
        {
            engine.output.adminResult(requestId, status, index, status == AdminStatus.NOT_LEADER ? engine.leaderId : Vote.NO_NODE, message);
        }
    }
}
