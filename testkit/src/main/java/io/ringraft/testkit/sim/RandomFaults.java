package io.ringraft.testkit.sim;

import io.ringraft.AdminStatus;
import io.ringraft.Membership;
import io.ringraft.Vote;
import io.ringraft.network.AppendEntriesRequest;
import io.ringraft.network.AppendEntriesResponse;
import io.ringraft.network.RaftMessage;
import io.ringraft.network.VoteRequest;
import io.ringraft.network.VoteResponse;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import java.util.stream.LongStream;

/**
 * The fault schedule of a {@link Simulation} run, and the operator's hand: partitions (both ways and one
 * way), isolations, crashes and restarts, link quality (loss, duplication, delay, partial appends), held
 * messages, a new leader disturbed in its first round trips, forced elections, leader transfers to
 * up-to-date, lagging and dead voters, and membership churn; until the quiet phase.
 */
final class RandomFaults
{
    private final SimCluster cluster;
    private final SplittableRandom random;
    private final boolean adminWorkload;
    private final boolean membershipChanges;
    private final BooleanSupplier quiet;
    private final List<AdminRequest> adminRequests = new ArrayList<>();
    private final int minVoters;
    private boolean growing;
    private boolean reachedAll;
    private int churnCycles;

    /**
     * @param cluster           the cluster
     * @param adminWorkload     the full workload (transfers, churn) or the one before it
     * @param membershipChanges whether this run changes the membership
     * @param quiet             true once the quiet phase began: no new fault then
     */
    RandomFaults(final SimCluster cluster, final boolean adminWorkload, final boolean membershipChanges, final BooleanSupplier quiet)
    {
        this.cluster = cluster;
        this.random = cluster.random();
        this.adminWorkload = adminWorkload;
        this.membershipChanges = membershipChanges;
        this.quiet = quiet;
        this.minVoters = cluster.size() >= 5 ? 3 : Math.max(1, cluster.size() - 1);
    }

    /** Schedules the first fault, the disturbance of new leaders, and (full workload) transfers and churn. */
    void start()
    {
        cluster.schedule(cluster.nowNanos() + random.nextLong(50_000_000L, 300_000_000L), this::fault);
        cluster.onLeaderElected(this::disturbNewLeader);
        if (adminWorkload)
        {
            cluster.schedule(cluster.nowNanos() + random.nextLong(200_000_000L, 800_000_000L), this::transferStep);
        }
        if (membershipChanges && adminWorkload)
        {
            growing = cluster.node(1).membership().voters().length < cluster.size();
            cluster.schedule(cluster.nowNanos() + random.nextLong(100_000_000L, 400_000_000L), this::membershipStep);
        }
    }

    /** @return the administration asked for, and how it ended */
    Simulation.Admin tally()
    {
        int learners = 0;
        int changes = 0;
        int promotions = 0;
        int leaderRemovals = 0;
        int changesFailed = 0;
        int transfers = 0;
        int transfersDone = 0;
        int transfersTimedOut = 0;
        for (final AdminRequest request : adminRequests)
        {
            final AdminOutcome outcome = cluster.adminOutcome(request.requestId);
            final boolean ok = outcome != null && outcome.ok();
            switch (request.kind)
            {
                case ADD_LEARNER ->
                {
                    learners += ok ? 1 : 0;
                    changesFailed += outcome != null && !ok ? 1 : 0;
                }
                case CHANGE ->
                {
                    changes += ok ? 1 : 0;
                    promotions += ok && request.promotes ? 1 : 0;
                    leaderRemovals += ok && request.removesLeader ? 1 : 0;
                    changesFailed += outcome != null && !ok ? 1 : 0;
                }
                default ->
                {
                    transfers++;
                    transfersDone += ok ? 1 : 0;
                    transfersTimedOut += outcome != null && outcome.status() == AdminStatus.TIMED_OUT ? 1 : 0;
                }
            }
        }
        return new Simulation.Admin(learners, changes, promotions, leaderRemovals, changesFailed, churnCycles, transfers, transfersDone,
            transfersTimedOut);
    }


    private void fault()
    {
        if (quiet.getAsBoolean())
        {
            return;
        }
        final int n = cluster.size();
        final int dice = random.nextInt(100);
        if (dice < 18)
        {
            cluster.heal();
        }
        else if (dice < 32)
        {
            final long[] order = shuffledIds(n);
            final int split = 1 + random.nextInt(n - 1);
            final long[] a = Arrays.copyOfRange(order, 0, split);
            final long[] b = Arrays.copyOfRange(order, split, n);
            cluster.partition(a, b);
        }
        else if (dice < 40)
        {
            cluster.isolate(1 + random.nextInt(n));
        }
        else if (dice < 48)
        {
            final long from = 1 + random.nextInt(n);
            final long to = 1 + (from + random.nextInt(n - 1)) % n;
            cluster.cut(from, to);
        }
        else if (dice < 64)
        {
            crashSomeNode(n);
        }
        else if (dice < 74)
        {
            final long id = 1 + random.nextInt(n);
            if (!cluster.node(id).isUp())
            {
                cluster.restart(id);
            }
        }
        else if (dice < 80)
        {
            changeLinkQuality();
        }
        else if (dice < 82 && adminWorkload)
        {
            transferLeadership();
        }
        else if (dice < 82)
        {
            final long leader = cluster.leader();
            if (leader != Vote.NO_NODE)
            {
                cluster.transferLeader(leader, 1 + (leader + random.nextInt(n - 1)) % n);
            }
        }
        else if (dice < 83 && membershipChanges)
        {
            changeMembership(n);
        }
        else if (dice < 84)
        {
            // An operator forcing an election: no pre-vote, so a node with a stale log bumps the term too.
            final long id = 1 + random.nextInt(n);
            if (cluster.node(id).isUp())
            {
                cluster.triggerElection(id);
            }
        }
        else if (dice < 92)
        {
            final long leader = cluster.leader();
            if (leader != Vote.NO_NODE)
            {
                disturb(leader, cluster.node(leader).currentTerm());
            }
        }
        else
        {
            holdSomeMessages(n);
        }
        cluster.schedule(cluster.nowNanos() + random.nextLong(20_000_000L, 250_000_000L), this::fault);
    }

    /**
     * A new leader's first round trips are where the subtle commit rules matter (Raft §5.4.2,
     * Figure 8): often cut it off or crash it while its log is only partly replicated.
     */
    private void disturbNewLeader(final long leader, final long term)
    {
        if (quiet.getAsBoolean() || random.nextInt(100) >= 30)
        {
            return;
        }
        cluster.schedule(cluster.nowNanos() + random.nextLong(100_000L, 15_000_000L), () -> disturb(leader, term));
    }

    /** Crashes or isolates a leader for a while, if it still leads that term. */
    private void disturb(final long leader, final long term)
    {
        final SimNode node = cluster.node(leader);
        if (quiet.getAsBoolean() || !node.isUp() || node.currentTerm() != term)
        {
            return;
        }
        if (random.nextBoolean())
        {
            cluster.crash(leader);
            cluster.schedule(cluster.nowNanos() + random.nextLong(5_000_000L, 300_000_000L), () ->
            {
                if (!quiet.getAsBoolean() && !cluster.node(leader).isUp())
                {
                    cluster.restart(leader);
                }
            });
        }
        else
        {
            cluster.isolate(leader);
            cluster.schedule(cluster.nowNanos() + random.nextLong(5_000_000L, 300_000_000L), () ->
            {
                if (!quiet.getAsBoolean())
                {
                    cluster.heal();
                }
            });
            if (random.nextBoolean())
            {
                // An operator who sees the leader cut off forces an election on the other side at once.
                final long other = 1 + (leader + random.nextInt(cluster.size() - 1)) % cluster.size();
                cluster.schedule(cluster.nowNanos() + random.nextLong(1_000_000L, 20_000_000L), () ->
                {
                    if (!quiet.getAsBoolean() && cluster.node(other).isUp())
                    {
                        cluster.triggerElection(other);
                    }
                });
            }
        }
    }

    /** Adds a node that is not a member as a learner, or moves to a random set of the members as voters. */
    private void changeMembership(final int n)
    {
        final long leader = cluster.leader();
        if (leader == Vote.NO_NODE)
        {
            return;
        }
        final Membership current = cluster.node(leader).membership();
        final long[] members = current.allNodes();
        final long[] outsiders = LongStream.rangeClosed(1, n).filter(id -> !current.contains(id)).toArray();
        if (outsiders.length > 0 && random.nextBoolean())
        {
            addLearner(leader, outsiders[random.nextInt(outsiders.length)]);
            return;
        }
        final long[] shuffled = shuffled(members);
        final int size = 1 + random.nextInt(shuffled.length);
        changeVoters(leader, current, Arrays.copyOf(shuffled, size), random.nextBoolean());
    }

    /**
     * Membership churn: grows the voters to every node (adding learners, then promoting them), then
     * shrinks them back to the minimum (removing voters, the leader among them now and then), and again,
     * every few hundred milliseconds of the chaos phase; on 5 nodes that is 3 -> 5 -> 3 voters.
     */
    private void membershipStep()
    {
        if (quiet.getAsBoolean())
        {
            return;
        }
        cluster.schedule(cluster.nowNanos() + random.nextLong(50_000_000L, 400_000_000L), this::membershipStep);
        final long leader = cluster.leader();
        if (leader == Vote.NO_NODE)
        {
            return;
        }
        final Membership current = cluster.node(leader).membership();
        if (current == null || current.isJoint())
        {
            return;
        }
        final long[] voters = current.voters();
        final long[] learners = current.learners();
        final long[] outsiders = LongStream.rangeClosed(1, cluster.size()).filter(id -> !current.contains(id)).toArray();
        if (growing && voters.length >= cluster.size())
        {
            growing = false;
            reachedAll = true;
        }
        else if (!growing && voters.length <= minVoters)
        {
            growing = true;
            churnCycles += reachedAll ? 1 : 0;
            reachedAll = false;
        }
        if (growing)
        {
            if (learners.length > 0 && (outsiders.length == 0 || random.nextBoolean()))
            {
                final long[] promoted = random.nextBoolean() ? learners : new long[] {learners[random.nextInt(learners.length)]};
                changeVoters(leader, current, LongStream.concat(Arrays.stream(voters), Arrays.stream(promoted)).toArray(), false);
            }
            else if (outsiders.length > 0)
            {
                addLearner(leader, outsiders[random.nextInt(outsiders.length)]);
            }
            return;
        }
        final int remove = Math.min(voters.length - minVoters, 1 + random.nextInt(2));
        final long[] order = shuffled(voters);
        if (random.nextInt(3) == 0)
        {
            // Put the leader first among those removed.
            for (int i = 0; i < order.length; i++)
            {
                if (order[i] == leader)
                {
                    order[i] = order[0];
                    order[0] = leader;
                }
            }
        }
        changeVoters(leader, current, Arrays.copyOfRange(order, remove, order.length), random.nextBoolean());
    }

    /** Every few hundred milliseconds of the chaos phase, a leader transfer half the time. */
    private void transferStep()
    {
        if (quiet.getAsBoolean())
        {
            return;
        }
        cluster.schedule(cluster.nowNanos() + random.nextLong(200_000_000L, 800_000_000L), this::transferStep);
        if (random.nextBoolean())
        {
            transferLeadership();
        }
    }

    private void addLearner(final long leader, final long learner)
    {
        adminRequests.add(new AdminRequest(cluster.addLearner(leader, learner), AdminKind.ADD_LEARNER, false, false));
    }

    private void changeVoters(final long leader, final Membership current, final long[] newVoters, final boolean retain)
    {
        final boolean removesLeader = Arrays.stream(newVoters).noneMatch(id -> id == leader);
        final boolean promotes = Arrays.stream(newVoters).anyMatch(current::isLearner);
        adminRequests.add(new AdminRequest(cluster.changeMembership(leader, newVoters, retain), AdminKind.CHANGE, removesLeader,
            promotes));
    }

    /**
     * Asks the leader to hand over to a voter that is up to date, lagging (its appends held back for a
     * while) or down, with a timeout of one to four election timeouts.
     */
    private void transferLeadership()
    {
        final long leader = cluster.leader();
        if (leader == Vote.NO_NODE)
        {
            return;
        }
        final NodeMetrics metrics = cluster.metrics(leader);
        final long[] others = Arrays.stream(metrics.membership().voters()).filter(id -> id != leader).toArray();
        if (others.length == 0)
        {
            return;
        }
        final long timeoutMillis = TimeUnit.NANOSECONDS.toMillis(cluster.electionTimeoutMaxNanos()) * (1 + random.nextInt(4));
        final int kind = random.nextInt(3);
        long target = others[random.nextInt(others.length)];
        if (kind == 0)
        {
            // The most up-to-date voter.
            for (final long id : others)
            {
                if (metrics.matched().getOrDefault(id, 0L) > metrics.matched().getOrDefault(target, 0L))
                {
                    target = id;
                }
            }
        }
        else if (kind == 1)
        {
            final long lagging = target;
            final Predicate<RaftMessage> filter = m -> m.to() == lagging && m instanceof AppendEntriesRequest;
            cluster.trace(lagging, "hold", "appends, to transfer to a lagging voter");
            cluster.network().hold(filter);
            cluster.schedule(cluster.nowNanos() + random.nextLong(20_000_000L, 2 * cluster.electionTimeoutMaxNanos()), () ->
            {
                cluster.network().removeFilter(filter);
                cluster.trace(lagging, "release", cluster.network().heldCount());
                cluster.network().releaseHeld();
            });
        }
        else
        {
            final long[] down = Arrays.stream(others).filter(id -> !cluster.node(id).isUp()).toArray();
            if (down.length > 0)
            {
                target = down[random.nextInt(down.length)];
            }
            else if (downCount() + 1 < (cluster.size() + 1) / 2)
            {
                cluster.crash(target);
                final long restarted = target;
                cluster.schedule(cluster.nowNanos() + random.nextLong(50_000_000L, 400_000_000L), () ->
                {
                    if (!quiet.getAsBoolean() && !cluster.node(restarted).isUp())
                    {
                        cluster.restart(restarted);
                    }
                });
            }
        }
        adminRequests.add(new AdminRequest(cluster.transferLeader(leader, target, timeoutMillis), AdminKind.TRANSFER, false,
            false));
    }

    private int downCount()
    {
        int down = 0;
        for (int id = 1; id <= cluster.size(); id++)
        {
            down += cluster.node(id).isUp() ? 0 : 1;
        }
        return down;
    }

    private long[] shuffled(final long[] ids)
    {
        final long[] order = ids.clone();
        for (int i = order.length - 1; i > 0; i--)
        {
            final int j = random.nextInt(i + 1);
            final long t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        return order;
    }

    private void crashSomeNode(final int n)
    {
        final long id = 1 + random.nextInt(n);
        if (!cluster.node(id).isUp() || downCount() >= (n + 1) / 2)
        {
            return;
        }
        cluster.crash(id);
        if (random.nextInt(10) < 8)
        {
            cluster.schedule(cluster.nowNanos() + random.nextLong(10_000_000L, 400_000_000L), () ->
            {
                if (!quiet.getAsBoolean() && !cluster.node(id).isUp())
                {
                    cluster.restart(id);
                }
            });
        }
    }

    private void changeLinkQuality()
    {
        final double[] losses = {0, 0, 0.02, 0.1, 0.3};
        final double[] duplicates = {0, 0, 0.02, 0.1};
        final long[] maxDelaysMicros = {2_000, 5_000, 5_000, 20_000, 60_000, 200_000};
        final SimNetwork network = cluster.network();
        network.lossRate(losses[random.nextInt(losses.length)]);
        network.duplicateRate(duplicates[random.nextInt(duplicates.length)]);
        network.partialAppendRate(random.nextInt(4) == 0 ? 0.2 : 0);
        network.delay(200_000L, maxDelaysMicros[random.nextInt(maxDelaysMicros.length)] * 1_000L);
        cluster.trace(0, "links", "loss/dup/delay changed");
    }

    private void holdSomeMessages(final int n)
    {
        final long target = 1 + random.nextInt(n);
        final int type = random.nextInt(3);
        final Predicate<RaftMessage> filter = m -> m.to() == target && switch (type)
        {
            case 0 -> m instanceof AppendEntriesRequest;
            case 1 -> m instanceof AppendEntriesResponse;
            default -> m instanceof VoteRequest || m instanceof VoteResponse;
        };
        cluster.trace(target, "hold", type == 0 ? "appends" : type == 1 ? "append responses" : "votes");
        cluster.network().hold(filter);
        cluster.schedule(cluster.nowNanos() + random.nextLong(5_000_000L, 800_000_000L), () ->
        {
            cluster.network().removeFilter(filter);
            cluster.trace(target, "release", cluster.network().heldCount());
            cluster.network().releaseHeld();
        });
    }

    private long[] shuffledIds(final int n)
    {
        return shuffled(LongStream.rangeClosed(1, n).toArray());
    }


    private record AdminRequest(long requestId, AdminKind kind, boolean removesLeader, boolean promotes)
    {
    }

    private enum AdminKind
    {
        ADD_LEARNER, CHANGE, TRANSFER
    }
}
