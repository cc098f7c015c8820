package io.ringraft.nemesis;

import java.util.List;
import java.util.Set;

/**
 * Where the nodes run and how their network is broken: each node in its own Linux network
 * namespace on a bridge ({@link NamespaceLab}), or all on loopback with no network faults
 * ({@link LoopbackLab}).
 */
interface NetworkLab extends AutoCloseable
{
    /** @return the address node {@code id} binds and the others reach it at */
    String host(long id);

    /** @return the words that run a command in node {@code id}'s network (empty on loopback) */
    List<String> launchPrefix(long id);

    /** @return true if {@link #apply} can cut links */
    boolean canCut();

    /** @return true if {@link #apply} can drop a share of the packets */
    boolean canDropRandomly();

    /**
     * Makes the network drop exactly what is given, replacing what was in force.
     *
     * @param cuts        one-way links that drop every packet: {@code {from, to}}
     * @param lossPercent the share of packets between nodes dropped at random, 0..100
     */
    void apply(Set<List<Long>> cuts, int lossPercent);

    /** @return one line saying what the lab is (for the report) */
    String describe();

    /** Removes everything the lab made. Idempotent; never throws. */
    @Override
    void close();
}
