package io.ringraft.engine;

import io.ringraft.Entry;
import io.ringraft.EntryBatch;
import io.ringraft.EntryType;
import io.ringraft.LogId;
import io.ringraft.Membership;
import io.ringraft.Vote;
import io.ringraft.network.AppendEntriesRequest;
import io.ringraft.network.AppendEntriesResponse;
import io.ringraft.network.InstallSnapshotRequest;
import io.ringraft.network.InstallSnapshotResponse;
import io.ringraft.network.Introduce;
import io.ringraft.network.RaftMessage;
import io.ringraft.network.ReadIndexRequest;
import io.ringraft.network.ReadIndexResponse;
import io.ringraft.network.TimeoutNow;
import io.ringraft.network.VoteRequest;
import io.ringraft.network.VoteResponse;

import io.ringraft.storage.SnapshotMeta;

import java.util.List;
import java.util.random.RandomGenerator;

/**
 * The Raft protocol of one node as a pure state machine: it takes events through its methods
 * and acts only through its {@link EngineOutput}. No threads, no clock reads, no I/O: time comes
 * in through {@link #tick(long)} and randomness through the injected generator, so a simulator
 * and the production runtime drive the same code.
 * <p>
 * The work is split into handlers by concern, as in openraft: {@link VoteHandler} (elections,
 * pre-vote), {@link LeaderHandler} (client writes, commit, heartbeats, check-quorum),
 * {@link ReplicationHandler} (per-follower pipelines and their responses),
 * {@link FollowingHandler} (AppendEntries on a follower, durable acknowledgements),
 * {@link ReadHandler} (ReadIndex, follower and lease reads), {@link MembershipHandler} (joint
 * consensus, learners), {@link TransferHandler} (leader transfer), {@link SnapshotHandler}
 * (compaction, snapshot transfer and install); this class holds the shared state and the role
 * transitions.
 * <p>
 * Not thread-safe: one thread calls every method.
 */
public final class Engine
{
    /** {@link #clientWrite(int)}: this node is not the leader. */
    public static final long NOT_LEADER = -1;
    /** {@link #clientWrite(int)}: the leader is handing over leadership and accepts no writes. */
    public static final long TRANSFERRING = -2;

    final EngineConfig config;
    final long self;
    final RandomGenerator random;
    final EngineOutput output;
    final PlantedBug bug;

    final LogIdList log;
    final MembershipLog memberships;

    final VoteHandler voteHandler;
    final LeaderHandler leaderHandler;
    final ReplicationHandler replicationHandler;
    final FollowingHandler followingHandler;
    final ReadHandler readHandler;
    final MembershipHandler membershipHandler;
    final TransferHandler transferHandler;
    final SnapshotHandler snapshotHandler;

    Vote vote;
    Role role;
    long leaderId = Vote.NO_NODE;
    long nowNanos;
    boolean started;

    /** Durable and part of the current log. */
    long flushedIndex;
    long committedIndex;
    /** The last index handed to {@link EngineOutput#apply}. */
    long appliedIndex;

    long electionDeadlineNanos = Long.MAX_VALUE;
    /** Elections in a row that ended without a leader: each doubles the next timeout, up to the backoff limit. */
    int failedElections;
    /** The patience added to the election timeouts for slow links, as of {@link #patienceAtNanos}; see {@link #observeGap}. */
    private long patienceNanos;
    private long patienceAtNanos;
    /** When a leader was last heard from (for the leader lease that stops disruptive votes). */
    long lastLeaderContactNanos = Long.MIN_VALUE / 2;
    /** The leader and term of {@link #lastLeaderContactNanos}, to measure gaps in one leader's traffic. */
    long lastLeaderFrom = Vote.NO_NODE;
    long lastLeaderTerm = -1;
    /** Until then this node grants no vote: it may have forgotten a lease it gave before a restart. */
    long voteHoldUntilNanos = Long.MIN_VALUE;

    private final long[] droppedInput = new long[InputDropReason.values().length];

    /**
     * @param config the protocol settings (validated here)
     * @param state  what the node starts from
     * @param random the source of randomized election timeouts
     * @param output where the engine's commands go
     */
    public Engine(final EngineConfig config, final InitialState state, final RandomGenerator random, final EngineOutput output)
    {
        this.config = config.validate();
        this.self = config.nodeId();
        this.random = random;
        this.output = output;
        this.bug = config.plantedBug();
        this.vote = state.vote;
        this.log = new LogIdList(state.lastPurged);
        for (int i = 0; i < state.termStarts.size(); i++)
        {
            final LogId start = state.termStarts.get(i);
            final long end = i + 1 < state.termStarts.size() ? state.termStarts.get(i + 1).index() - 1 : state.lastLog.index();
            log.append(start.term(), end - start.index() + 1);
        }
        if (log.lastIndex() != state.lastLog.index() || log.lastTerm() != state.lastLog.term())
        {
            throw new IllegalArgumentException("initial state is inconsistent: term starts " + state.termStarts +
                " do not end at last log id " + state.lastLog);
        }
        this.memberships = new MembershipLog(state.snapshotMembership, state.lastPurged.index());
        for (int i = 0; i < state.memberships.size(); i++)
        {
            memberships.append(state.membershipIds.get(i).index(), state.memberships.get(i));
        }
        this.flushedIndex = log.lastIndex();
        this.appliedIndex = Math.max(state.lastApplied.index(), state.lastPurged.index());
        this.committedIndex = appliedIndex;
        if (appliedIndex > log.lastIndex())
        {
            throw new IllegalArgumentException("state machine applied " + state.lastApplied + " beyond the last log id " + state.lastLog);
        }
        this.voteHandler = new VoteHandler(this);
        this.leaderHandler = new LeaderHandler(this);
        this.replicationHandler = new ReplicationHandler(this);
        this.followingHandler = new FollowingHandler(this);
        this.readHandler = new ReadHandler(this);
        this.membershipHandler = new MembershipHandler(this);
        this.transferHandler = new TransferHandler(this);
        this.snapshotHandler = new SnapshotHandler(this, state.snapshot);
        this.role = baseRole();
    }

    /**
     * Initializes a new cluster: appends {@code membership} as the first entry. Call it on every
     * initial member with the same membership, before {@link #start(long)}.
     *
     * @param membership the initial voters (this node among them)
     * @throws IllegalStateException if this node has a log or a vote already
     */
    public void initialize(final Membership membership)
    {
        if (log.lastIndex() != 0 || vote.term() != 0 || memberships.effective() != null)
        {
            throw new IllegalStateException("node " + self + " is already initialized: last log " + log.lastLogId() + ", vote " + vote);
        }
        if (!membership.contains(self))
        {
            throw new IllegalArgumentException("node " + self + " is not in the initial membership " + membership);
        }
        appendEntries(List.of(Entry.membership(0, 1, membership)));
    }

    /**
     * Starts the timers. Call once, before any other input but {@link #initialize}.
     *
     * @param nowNanos the current time
     */
    public void start(final long nowNanos)
    {
        if (started)
        {
            throw new IllegalStateException("engine of node " + self + " already started");
        }
        started = true;
        this.nowNanos = nowNanos;
        this.voteHoldUntilNanos = nowNanos + config.electionTimeoutMinNanos();
        role = baseRole();
        resetElectionTimer();
        if (appliedIndex < committedIndex)
        {
            applyCommitted();
        }
        output.roleChanged(role, vote.term(), leaderId);
    }

    /**
     * Advances time and fires due timers: election timeout, heartbeat, check-quorum,
     * retransmission. Call it before every other input with the current time, and at
     * {@link #nextDeadlineNanos()} at the latest.
     *
     * @param nowNanos the current time, never going backwards
     */
    public void tick(final long nowNanos)
    {
        ensureStarted();
        if (nowNanos > this.nowNanos)
        {
            this.nowNanos = nowNanos;
        }
        final TestControl control = config.testControl();
        if (control != null)
        {
            final long purge = control.takePurge();
            if (purge > 0)
            {
                snapshotHandler.purgeUpTo(purge);
            }
        }
        if (role == Role.LEADER)
        {
            leaderHandler.onTick();
        }
        else
        {
            readHandler.onTick();
            voteHandler.onTick();
            if (control == null ? nowNanos >= electionDeadlineNanos :
                control.takeElectionTimeout() || control.electionTimer() && nowNanos >= electionDeadlineNanos)
            {
                voteHandler.onElectionTimeout();
            }
        }
    }

    /** @return the time of the next timer due; the caller must {@link #tick} by then */
    public long nextDeadlineNanos()
    {
        if (role == Role.LEADER)
        {
            return leaderHandler.nextDeadlineNanos();
        }
        final TestControl control = config.testControl();
        final long election = control == null || control.electionTimer() ? electionDeadlineNanos : Long.MAX_VALUE;
        return Math.min(Math.min(election, readHandler.nextDeadlineNanos()), voteHandler.nextDeadlineNanos());
    }

    /**
     * Handles a message from another node. A message no correct peer sends is dropped and
     * counted ({@link #droppedInput(InputDropReason)}), never thrown: remote input does not decide
     * whether this node runs.
     *
     * @param message a message addressed to this node
     */
    public void handle(final RaftMessage message)
    {
        ensureStarted();
        if (message.to() != self)
        {
            dropInput(InputDropReason.NOT_ADDRESSED, message);
            return;
        }
        if (message instanceof AppendEntriesRequest)
        {
            followingHandler.onAppendEntries((AppendEntriesRequest)message);
        }
        else if (message instanceof AppendEntriesResponse)
        {
            replicationHandler.onAppendEntriesResponse((AppendEntriesResponse)message);
        }
        else if (message instanceof VoteRequest)
        {
            voteHandler.onVoteRequest((VoteRequest)message);
        }
        else if (message instanceof VoteResponse)
        {
            voteHandler.onVoteResponse((VoteResponse)message);
        }
        else if (message instanceof TimeoutNow)
        {
            voteHandler.onTimeoutNow((TimeoutNow)message);
        }
        else if (message instanceof InstallSnapshotRequest)
        {
            snapshotHandler.onInstallSnapshot((InstallSnapshotRequest)message);
        }
        else if (message instanceof InstallSnapshotResponse)
        {
            snapshotHandler.onInstallSnapshotResponse((InstallSnapshotResponse)message);
        }
        else if (message instanceof ReadIndexRequest)
        {
            readHandler.onReadIndexRequest((ReadIndexRequest)message);
        }
        else if (message instanceof ReadIndexResponse)
        {
            stepDownIfNewerTerm(message.term(), Vote.NO_NODE);
            readHandler.onReadIndexResponse((ReadIndexResponse)message);
        }
        else if (message instanceof Introduce)
        {
            onIntroduce((Introduce)message);
        }
    }

    /**
     * A leader that this node has not answered tells where it is. Only a leader of this term or a
     * later one is let through to the runtime, which opens the channel; the term is not taken
     * from it (the leader's AppendEntries do that, as Raft says, once they arrive).
     */
    private void onIntroduce(final Introduce message)
    {
        if (message.from() <= 0 || message.from() == self || message.endpoint() == null || message.endpoint().isBlank())
        {
            dropInput(InputDropReason.INTRODUCTION_MALFORMED, message);
            return;
        }
        if (message.term() < vote.term())
        {
            dropInput(InputDropReason.STALE_INTRODUCTION, message);
            return;
        }
        output.introduced(message.from(), message.term(), message.endpoint());
    }

    /**
     * Accepts {@code count} client commands on the leader: they get consecutive indexes in the
     * current term and the engine calls {@link EngineOutput#appendClientEntries} for them before
     * it returns, then replicates them.
     *
     * @param count how many commands, {@code >= 1}
     * @return the index of the first, or {@link #NOT_LEADER} / {@link #TRANSFERRING}
     */
    public long clientWrite(final int count)
    {
        ensureStarted();
        if (count < 1)
        {
            throw new IllegalArgumentException("clientWrite count must be >= 1: " + count);
        }
        return leaderHandler.clientWrite(count);
    }

    /**
     * Reports what the log storage made durable: the index up to which the log as it now is
     * (after any truncation) is durable, as the storage's flush returns it.
     *
     * @param durableIndex the last durable index
     */
    public void onLogFlushed(final long durableIndex)
    {
        ensureStarted();
        final long index = Math.min(durableIndex, log.lastIndex());
        if (index <= flushedIndex)
        {
            return;
        }
        flushedIndex = index;
        if (role == Role.LEADER)
        {
            leaderHandler.advanceCommit();
        }
        else
        {
            followingHandler.onFlushed();
        }
    }

    /**
     * Starts a linearizable read without a log entry (Raft thesis §6.4). On the leader, it
     * confirms with a quorum that it still leads; on a follower, it asks the leader for a read
     * index. Then {@link EngineOutput#readIndexReady} gives the index the read must wait for, or
     * {@link EngineOutput#readIndexFailed} says no leader could confirm it. Batch reads in the
     * runtime: one call serves any number of them.
     *
     * @param readId the caller's id for the read
     */
    public void readIndex(final long readId)
    {
        ensureStarted();
        readHandler.readIndex(readId);
    }

    /**
     * A lease read: on a leader whose lease holds (a quorum answered a round started less than
     * the minimum election timeout minus {@link EngineConfig#maxClockDriftNanos()} ago), the read
     * index at once, with no round trip. Assumes clock rates differ by less than that bound over
     * an election timeout.
     *
     * @return the index the read must observe, or -1 if the lease does not hold (use {@link #readIndex})
     */
    public long leaseRead()
    {
        ensureStarted();
        return readHandler.leaseRead();
    }

    /**
     * Changes the voters by joint consensus (Raft §6). Voters to add must be members already
     * (add them with {@link #addLearner}); they must catch up before the joint configuration is
     * proposed. The outcome reaches {@link EngineOutput#adminResult}.
     *
     * @param requestId               the caller's id, echoed in the result
     * @param newVoters               the voters of the new configuration
     * @param retainRemovedAsLearners keep removed voters as learners instead of removing them
     * @param timeoutNanos            how long the change may take
     */
    public void changeMembership(final long requestId, final long[] newVoters, final boolean retainRemovedAsLearners,
        final long timeoutNanos)
    {
        ensureStarted();
        membershipHandler.changeMembership(requestId, newVoters, retainRemovedAsLearners, timeoutNanos);
    }

    /**
     * Adds a learner: it replicates and applies but never votes. The outcome reaches
     * {@link EngineOutput#adminResult} once the membership entry commits.
     *
     * @param requestId    the caller's id
     * @param node         the new node
     * @param endpoint     its address for the network, or null
     * @param timeoutNanos how long it may take
     */
    public void addLearner(final long requestId, final long node, final String endpoint, final long timeoutNanos)
    {
        ensureStarted();
        membershipHandler.addLearner(requestId, node, endpoint, timeoutNanos);
    }

    /**
     * Removes a learner in one step (learners never count toward a quorum, so no joint phase is
     * needed). The outcome reaches {@link EngineOutput#adminResult} once the membership entry commits.
     *
     * @param requestId    the caller's id
     * @param node         a learner
     * @param timeoutNanos how long it may take
     */
    public void removeLearner(final long requestId, final long node, final long timeoutNanos)
    {
        ensureStarted();
        membershipHandler.removeLearner(requestId, node, timeoutNanos);
    }

    /**
     * Hands leadership to {@code target} (thesis §3.10): writes are refused with
     * {@link #TRANSFERRING} meanwhile. The outcome reaches {@link EngineOutput#adminResult}.
     *
     * @param requestId    the caller's id
     * @param target       a voter
     * @param timeoutNanos how long before giving up and taking writes again
     */
    public void transferLeader(final long requestId, final long target, final long timeoutNanos)
    {
        ensureStarted();
        transferHandler.transferLeader(requestId, target, timeoutNanos);
    }

    /**
     * The state machine wrote a snapshot: the engine purges the log behind it (keeping
     * {@link EngineConfig#logRetainEntries()}) and sends it to followers that need purged entries.
     *
     * @param meta the committed snapshot, at or before the applied index
     */
    public void onSnapshotBuilt(final SnapshotMeta meta)
    {
        ensureStarted();
        snapshotHandler.onSnapshotBuilt(meta);
    }

    /**
     * The executor stored a chunk of a snapshot that {@code leader} is sending (after
     * {@link EngineOutput#storeSnapshotChunk}).
     *
     * @param leader     the sender
     * @param meta       the snapshot
     * @param nextOffset the offset expected next
     * @param complete   true once all of it is stored, checked and committed to the snapshot store
     */
    public void onSnapshotChunkStored(final long leader, final SnapshotMeta meta, final long nextOffset, final boolean complete)
    {
        ensureStarted();
        snapshotHandler.onChunkStored(leader, meta, nextOffset, complete);
    }

    /** Starts an election now, without pre-vote (tests, operators). Learners ignore it. */
    public void triggerElection()
    {
        ensureStarted();
        if (canStand() && role != Role.LEADER)
        {
            voteHandler.startElection(false);
        }
    }

    /** Sends a heartbeat to every follower now, if leader. */
    public void triggerHeartbeat()
    {
        ensureStarted();
        if (role == Role.LEADER)
        {
            leaderHandler.broadcastHeartbeat();
        }
    }

    // ---------------------------------------------------------------------------------------
    // State shared by the handlers

    boolean isVoter()
    {
        final Membership m = memberships.effective();
        return m != null && m.isVoter(self);
    }

    /**
     * @return true if this node may stand for election: a voter of its latest configuration, or of
     *         the last committed one while a newer configuration that removes it is not committed
     *         (Raft §6: it takes part until the change is committed; without it, a cluster whose
     *         only up-to-date nodes are being removed could never elect a leader to finish the change)
     */
    boolean canStand()
    {
        if (isVoter())
        {
            return true;
        }
        final Membership committed = memberships.at(committedIndex);
        return committed != null && committed != memberships.effective() && committed.isVoter(self);
    }

    Role baseRole()
    {
        return canStand() || memberships.effective() == null ? Role.FOLLOWER : Role.LEARNER;
    }

    void resetElectionTimer()
    {
        if (canStand())
        {
            final long min = config.electionTimeoutMinNanos();
            final long max = config.electionTimeoutMaxNanos();
            electionDeadlineNanos = nowNanos + ((min + random.nextLong(max - min)) << failedElections) + 2 * patienceNanos();
        }
        else
        {
            electionDeadlineNanos = Long.MAX_VALUE;
        }
    }

    /**
     * @return true while a leader was heard from within the minimum election timeout; only with
     *         check-quorum, which makes a leader that lost its quorum step down in that time
     */
    boolean inLeaderLease()
    {
        if (!config.checkQuorum())
        {
            return false;
        }
        if (role == Role.LEADER || nowNanos < voteHoldUntilNanos)
        {
            return true;
        }
        return leaderId != Vote.NO_NODE && nowNanos - lastLeaderContactNanos < electionTimeoutMinNanos();
    }

    /**
     * @return the shortest election timeout as this node applies it: the configured one, plus twice
     *         the patience its links have been seen to need ({@link #observeGap}); never less than configured
     */
    long electionTimeoutMinNanos()
    {
        return config.electionTimeoutMinNanos() + 2 * patienceNanos();
    }

    /**
     * An adaptive failure detector in the spirit of phi accrual: a gap in traffic that should be
     * regular (a leader's messages to this follower, a follower's answers to this leader) longer
     * than the heartbeat interval says the links are slow or lossy; over Aeron a lost packet stalls
     * everything behind it on its stream for a repair round trip. The excess becomes patience added
     * to this node's election timeout, to the stickiness that refuses votes while a leader is heard
     * from, and to the leader's check-quorum window, so that the slowest gaps seen recently no
     * longer look like a failure. The patience decays by 1 ms per 16 ms once such gaps stop, and
     * is capped at twice the maximum election timeout; gaps longer than that are outages
     * (partitions, pauses), not slowness, and are not counted. It only ever lengthens timeouts, so
     * safety (the leader lease included) is unaffected; a failure is detected later on links that
     * were seen to be slow.
     *
     * @param gapNanos the time since the last message of the same kind from the same node
     */
    void observeGap(final long gapNanos)
    {
        final long cap = 2 * config.electionTimeoutMaxNanos();
        if (gapNanos > cap)
        {
            return;
        }
        final long excess = gapNanos - config.heartbeatIntervalNanos();
        patienceNanos = Math.max(patienceNanos(), Math.min(excess, cap));
        patienceAtNanos = nowNanos;
    }

    /** @return the current patience for slow links, decayed since it was last raised */
    long patienceNanos()
    {
        final long decayed = patienceNanos - (nowNanos - patienceAtNanos) / 16;
        return Math.max(0, decayed);
    }

    /**
     * Moves to {@code term} as a follower if it is newer than the current term (Raft §5.1).
     *
     * @return true if the term changed
     */
    boolean stepDownIfNewerTerm(final long term, final long newLeader)
    {
        if (term > vote.term())
        {
            becomeFollower(term, newLeader);
            return true;
        }
        return false;
    }

    /** Becomes a follower (or learner) of {@code term}, saving the new term if it changed. */
    void becomeFollower(final long term, final long newLeader)
    {
        final Role before = role;
        final long beforeLeader = leaderId;
        final long beforeTerm = vote.term();
        if (term > vote.term())
        {
            saveVote(new Vote(term, Vote.NO_NODE, false));
            followingHandler.onNewTerm();
        }
        if (before == Role.LEADER)
        {
            leaderHandler.onStepDown();
        }
        role = baseRole();
        leaderId = newLeader;
        if (beforeLeader != newLeader || beforeTerm != vote.term())
        {
            readHandler.onLeaderChanged();
        }
        if (newLeader != Vote.NO_NODE)
        {
            lastLeaderContactNanos = nowNanos;
            failedElections = 0;
        }
        if (before == Role.LEADER || electionDeadlineNanos == Long.MAX_VALUE || newLeader != Vote.NO_NODE)
        {
            // Only a new leader heard from (or a node that had no timer) restarts the timer: a
            // higher term alone must not (Raft §5.2), or a candidate that can never win keeps
            // the nodes that could from standing.
            resetElectionTimer();
        }
        if (before != role || beforeLeader != leaderId || beforeTerm != vote.term())
        {
            output.roleChanged(role, vote.term(), leaderId);
        }
    }

    void saveVote(final Vote newVote)
    {
        vote = newVote;
        output.saveVote(newVote);
    }

    /** Appends entries the engine made or accepted, tracking term starts and memberships. */
    void appendEntries(final List<Entry> entries)
    {
        appendEntries(EntryBatch.of(entries), 0);
    }

    /** Appends {@code entries} from position {@code from} on, which must follow the last entry. */
    void appendEntries(final EntryBatch entries, final int from)
    {
        final int n = entries.size();
        if (from >= n)
        {
            return;
        }
        final long expected = log.lastIndex() + 1;
        if (entries.index(from) != expected)
        {
            throw new IllegalStateException("node " + self + ": append at " + entries.index(from) + ", expected " + expected);
        }
        output.appendEntries(entries, from);
        final long term = entries.term(from);
        if (entries.wellFormed() && term == entries.lastTerm())
        {
            log.append(term, n - from); // one term: the usual batch
        }
        else
        {
            for (int i = from; i < n; i++)
            {
                log.append(entries.term(i), 1);
            }
        }
        boolean membershipChanged = false;
        for (int i = from; entries.hasMembership() && i < n; i++)
        {
            if (entries.type(i) == EntryType.MEMBERSHIP)
            {
                memberships.append(entries.index(i), entries.get(i).membership());
                membershipChanged = true;
            }
        }
        if (membershipChanged)
        {
            onMembershipChanged();
        }
    }

    /** Removes the log suffix from {@code fromIndex}: entries that conflict with the leader's, never a committed one. */
    void truncate(final long fromIndex)
    {
        truncate(fromIndex, false);
    }

    /**
     * Removes the log suffix from {@code fromIndex}, never below the commit index.
     *
     * @param bySnapshot true if a snapshot replaces the suffix (some of it may be committed), false
     *                   if it conflicts with the leader's log (none of it is)
     */
    void truncate(final long fromIndex, final boolean bySnapshot)
    {
        if (fromIndex <= committedIndex)
        {
            throw new IllegalStateException("node " + self + ": refusing to truncate committed entries from " + fromIndex +
                " (committed " + committedIndex + ")");
        }
        if (bySnapshot)
        {
            output.discardLog(fromIndex);
        }
        else
        {
            output.truncateLog(fromIndex);
        }
        log.truncate(fromIndex);
        flushedIndex = Math.min(flushedIndex, fromIndex - 1);
        final Membership before = memberships.effective();
        memberships.truncate(fromIndex);
        if (before != memberships.effective())
        {
            onMembershipChanged();
        }
    }

    /** A snapshot replaced the memberships. */
    void onMembershipReplaced()
    {
        onMembershipChanged();
    }

    private void onMembershipChanged()
    {
        if (role == Role.LEADER)
        {
            leaderHandler.onMembershipChanged();
        }
        else if (role != Role.CANDIDATE && role != Role.PRE_CANDIDATE)
        {
            final Role before = role;
            role = baseRole();
            if (electionDeadlineNanos == Long.MAX_VALUE || role == Role.LEARNER)
            {
                resetElectionTimer();
            }
            if (before != role && started)
            {
                output.roleChanged(role, vote.term(), leaderId);
            }
        }
    }

    /** Drops an impossible message from another node: counted and reported, nothing else changes. */
    void dropInput(final InputDropReason reason, final RaftMessage message)
    {
        droppedInput[reason.ordinal()]++;
        output.inputDropped(reason, message);
    }

    /** Advances the commit index (never backwards) and hands the newly committed entries to apply. */
    void commitTo(final long index)
    {
        if (index > committedIndex)
        {
            committedIndex = index;
            applyCommitted();
            if ((role == Role.FOLLOWER || role == Role.LEARNER) && baseRole() != role)
            {
                // A committed membership settled whether this node may stand.
                role = baseRole();
                resetElectionTimer();
                output.roleChanged(role, vote.term(), leaderId);
            }
        }
    }

    private void applyCommitted()
    {
        if (committedIndex > appliedIndex && started)
        {
            final long from = appliedIndex + 1;
            appliedIndex = committedIndex;
            output.apply(from, committedIndex);
        }
    }

    private void ensureStarted()
    {
        if (!started)
        {
            throw new IllegalStateException("engine of node " + self + " is not started: call start(now) first");
        }
    }

    // ---------------------------------------------------------------------------------------
    // Observers

    /**
     * @param reason a reason
     * @return how many messages from other nodes were dropped for it since this engine was made
     */
    public long droppedInput(final InputDropReason reason)
    {
        return droppedInput[reason.ordinal()];
    }

    /** @return this node's id */
    public long nodeId()
    {
        return self;
    }

    /** @return the current role */
    public Role role()
    {
        return role;
    }

    /** @return the current term */
    public long currentTerm()
    {
        return vote.term();
    }

    /** @return the current vote */
    public Vote vote()
    {
        return vote;
    }

    /** @return the known leader of the current term, or {@link Vote#NO_NODE} */
    public long leaderId()
    {
        return leaderId;
    }

    /** @return the last log id */
    public LogId lastLogId()
    {
        return log.lastLogId();
    }

    /** @return the index of the last entry ({@code lastLogId().index()}, without allocating) */
    public long lastLogIndex()
    {
        return log.lastIndex();
    }

    /** @return the term of the last entry, 0 for an empty log (without allocating) */
    public long lastLogTerm()
    {
        final long term = log.termAt(log.lastIndex());
        return term < 0 ? 0 : term;
    }

    /** @return the index of the last entry the storage reported durable (without allocating) */
    public long flushedIndex()
    {
        return flushedIndex;
    }

    /** @return the index of the last entry purged behind a snapshot, 0 if none (without allocating) */
    public long purgedIndex()
    {
        return log.purgedIndex();
    }

    /** @return the last index covered by the latest snapshot known to the engine, 0 if none */
    public long snapshotIndex()
    {
        final SnapshotMeta latest = snapshotHandler.latest();
        return latest == null ? 0 : latest.lastIncluded().index();
    }

    /** @return the id of the last entry the storage reported durable */
    public LogId flushedLogId()
    {
        return new LogId(log.termAt(flushedIndex) < 0 ? 0 : log.termAt(flushedIndex), flushedIndex);
    }

    /** @return the last log id purged behind a snapshot, or {@link LogId#ZERO} */
    public LogId lastPurgedLogId()
    {
        return new LogId(log.purgedTerm(), log.purgedIndex());
    }

    /** @return the commit index known to this node */
    public long committedIndex()
    {
        return committedIndex;
    }

    /** @return the last index handed to {@link EngineOutput#apply} */
    public long appliedIndex()
    {
        return appliedIndex;
    }

    /** @return the term of the entry at {@code index}, or -1 if the log does not hold it */
    public long termAt(final long index)
    {
        return log.termAt(index);
    }

    /** @return the effective membership (the last in the log), or null before initialization */
    public Membership membership()
    {
        return memberships.effective();
    }

    /** @return the latest snapshot known to the engine, or null */
    public SnapshotMeta latestSnapshot()
    {
        return snapshotHandler.latest();
    }

    /**
     * @param index a log index
     * @return the membership in force at {@code index}
     */
    public Membership membershipAt(final long index)
    {
        return memberships.at(index);
    }

    /** @return the last membership whose entry is committed, or null */
    public Membership committedMembership()
    {
        return memberships.at(committedIndex);
    }

    /**
     * @param peer a follower
     * @return the index known to match on {@code peer}, on a leader; -1 otherwise
     */
    public long matchIndex(final long peer)
    {
        return role == Role.LEADER ? replicationHandler.matchIndex(peer) : -1;
    }

    /**
     * @param peer a node
     * @return true while this node leads and replicates to {@code peer}: a member, or a node just
     *         removed that has not yet learned that its removal committed
     */
    public boolean replicatesTo(final long peer)
    {
        return role == Role.LEADER && replicationHandler.progress(peer) != null;
    }

    @Override
    public String toString()
    {
        return "Engine{node=" + self + " " + role + " " + vote + " leader=" + leaderId + " last=" + log.lastLogId() +
            " flushed=" + flushedIndex + " committed=" + committedIndex + " applied=" + appliedIndex + "}";
    }
}
