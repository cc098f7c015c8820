package io.ringraft.engine;

import io.ringraft.LogId;
import io.ringraft.Membership;
import io.ringraft.Vote;
import io.ringraft.network.TimeoutNow;
import io.ringraft.network.VoteRequest;
import io.ringraft.network.VoteResponse;
import org.agrona.collections.LongHashSet;

/**
 * Elections (Raft §5.2, §5.4.1), pre-vote (thesis §9.6) and the leader lease that keeps a
 * partitioned node from disrupting a working leader (thesis §4.2.3).
 */
final class VoteHandler
{
    private final Engine engine;
    private final LongHashSet granted = new LongHashSet();
    /** Who answered the current attempt, granting or refusing: the others are asked again. */
    private final LongHashSet answered = new LongHashSet();
    private long requestTerm;
    private boolean requestPreVote;
    private boolean requestTransfer;
    private long resendDeadlineNanos = Long.MAX_VALUE;
    private long requestSentNanos;
    private boolean transferElection;

    VoteHandler(final Engine engine)
    {
        this.engine = engine;
    }

    void onElectionTimeout()
    {
        if (engine.role == Role.PRE_CANDIDATE || engine.role == Role.CANDIDATE)
        {
            // The last attempt ended without a leader: on slow or lossy links its answers may simply
            // not have arrived in time, so the next attempt waits longer (exponential backoff, reset
            // when a leader is heard from). Whether a quorum answered is no guide: on such links the
            // pre-vote round may complete in time and the vote round not.
            engine.failedElections = Math.min(engine.failedElections + 1, engine.config.electionBackoffLimit());
        }
        if (!engine.canStand())
        {
            engine.resetElectionTimer();
            return;
        }
        if (engine.config.preVote())
        {
            startPreVote();
        }
        else
        {
            startElection(false);
        }
    }

    /** Asks whether the voters would elect this node in the next term, without changing term. */
    void startPreVote()
    {
        engine.role = Role.PRE_CANDIDATE;
        engine.leaderId = Vote.NO_NODE;
        engine.readHandler.onLeaderChanged();
        engine.resetElectionTimer();
        granted.clear();
        granted.add(engine.self);
        engine.output.roleChanged(Role.PRE_CANDIDATE, engine.vote.term(), Vote.NO_NODE);
        if (isQuorum())
        {
            startElection(false);
            return;
        }
        requestVotes(engine.vote.term() + 1, true, false);
    }

    /** Stands for election in a new term: votes for itself durably, then asks the others (§5.2). */
    void startElection(final boolean transfer)
    {
        final long term = engine.vote.term() + 1;
        if (engine.role == Role.LEADER)
        {
            engine.leaderHandler.onStepDown();
        }
        engine.saveVote(new Vote(term, engine.self, false));
        engine.followingHandler.onNewTerm();
        engine.role = Role.CANDIDATE;
        engine.leaderId = Vote.NO_NODE;
        engine.readHandler.onLeaderChanged();
        engine.resetElectionTimer();
        transferElection = transfer;
        granted.clear();
        granted.add(engine.self);
        engine.output.roleChanged(Role.CANDIDATE, term, Vote.NO_NODE);
        if (isQuorum())
        {
            engine.leaderHandler.becomeLeader();
            return;
        }
        requestVotes(term, false, transfer);
    }

    private void requestVotes(final long term, final boolean preVote, final boolean transfer)
    {
        requestTerm = term;
        requestPreVote = preVote;
        requestTransfer = transfer;
        requestSentNanos = engine.nowNanos;
        answered.clear();
        answered.add(engine.self);
        sendRequests();
        resendDeadlineNanos = engine.nowNanos + (engine.electionDeadlineNanos - engine.nowNanos) / 2;
    }

    /**
     * Halfway to the attempt's timeout, asks once more the voters that have not answered: over a
     * network that loses messages, a lost request or answer would otherwise cost a whole (backed-off)
     * election timeout. Only once: over a reliable stream (Aeron) the repeat is redundant, a voter
     * answers it as it did the first, and every extra packet on a lossy stream is one more chance of
     * a repair stall for everything behind it.
     */
    void onTick()
    {
        if (engine.nowNanos >= resendDeadlineNanos)
        {
            resendDeadlineNanos = Long.MAX_VALUE;
            if ((engine.role == Role.PRE_CANDIDATE) == requestPreVote &&
                (engine.role == Role.PRE_CANDIDATE || engine.role == Role.CANDIDATE) &&
                requestTerm == (requestPreVote ? engine.vote.term() + 1 : engine.vote.term()))
            {
                sendRequests();
            }
        }
    }

    /** @return when {@link #onTick} next has to ask again */
    long nextDeadlineNanos()
    {
        return resendDeadlineNanos;
    }

    private void sendRequests()
    {
        final long term = requestTerm;
        final boolean preVote = requestPreVote;
        final boolean transfer = requestTransfer;
        final LogId last = engine.log.lastLogId();
        final long[] nodes = engine.memberships.effective().allNodes();
        for (final long node : nodes)
        {
            if (node != engine.self && !answered.contains(node) && engine.memberships.effective().isVoter(node))
            {
                engine.output.send(new VoteRequest(engine.self, node, term, last, preVote, transfer));
            }
        }
    }

    void onVoteRequest(final VoteRequest request)
    {
        final long term = engine.vote.term();
        if (request.term() < term)
        {
            engine.output.send(new VoteResponse(engine.self, request.from(), term, false, request.preVote()));
            return;
        }
        // Leader stickiness: while a leader is heard from, requests to replace it are refused
        // without adopting their term, so a node that was cut off cannot depose a working leader.
        if (!request.transfer() && engine.inLeaderLease() && request.from() != engine.leaderId)
        {
            engine.output.send(new VoteResponse(engine.self, request.from(), term, false, request.preVote()));
            return;
        }
        final boolean upToDate = request.lastLogId().compareTo(engine.log.lastLogId()) >= 0;
        if (request.preVote())
        {
            // A pre-vote changes nothing here: grant if a real vote in that term could be granted.
            final boolean grant = upToDate && request.term() > term;
            engine.output.send(new VoteResponse(engine.self, request.from(), grant ? request.term() : term, grant, true));
            return;
        }
        engine.stepDownIfNewerTerm(request.term(), Vote.NO_NODE);
        final Vote vote = engine.vote;
        final boolean canVote = vote.votedFor() == Vote.NO_NODE || vote.votedFor() == request.from() ||
            engine.bug == PlantedBug.DOUBLE_VOTE && engine.role != Role.LEADER;
        final boolean grant = canVote && upToDate && engine.role != Role.LEADER;
        if (grant)
        {
            if (vote.votedFor() != request.from())
            {
                engine.saveVote(new Vote(vote.term(), request.from(), false));
            }
            engine.resetElectionTimer();
        }
        engine.output.send(new VoteResponse(engine.self, request.from(), engine.vote.term(), grant, false));
    }

    void onVoteResponse(final VoteResponse response)
    {
        if (response.preVote() == requestPreVote && (response.preVote() || response.term() == requestTerm) &&
            answered.add(response.from()))
        {
            // A round trip of this election: on slow links the leader it elects needs the patience too.
            engine.observeGap(engine.nowNanos - requestSentNanos);
        }
        if (response.preVote())
        {
            if (!response.granted())
            {
                engine.stepDownIfNewerTerm(response.term(), Vote.NO_NODE);
                return;
            }
            if (engine.role == Role.PRE_CANDIDATE && response.term() == engine.vote.term() + 1)
            {
                granted.add(response.from());
                if (isQuorum())
                {
                    startElection(false);
                }
            }
            return;
        }
        if (engine.stepDownIfNewerTerm(response.term(), Vote.NO_NODE))
        {
            return;
        }
        if (engine.role == Role.CANDIDATE && response.term() == engine.vote.term() && response.granted())
        {
            granted.add(response.from());
            if (isQuorum())
            {
                engine.leaderHandler.becomeLeader();
            }
        }
    }

    /** Leader transfer (thesis §3.10): the leader says "stand now", and voters grant despite the lease. */
    void onTimeoutNow(final TimeoutNow message)
    {
        if (message.term() == engine.vote.term() && message.from() == engine.leaderId && engine.canStand() &&
            engine.role == Role.FOLLOWER)
        {
            startElection(true);
        }
        else
        {
            engine.stepDownIfNewerTerm(message.term(), message.from());
        }
    }

    /** @return true if the last election was ordered by a leader transfer */
    boolean isTransferElection()
    {
        return transferElection;
    }

    private boolean isQuorum()
    {
        final Membership m = engine.memberships.effective();
        return m != null && m.isQuorum(granted::contains);
    }
}
