package io.ringraft.server;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The flags and positional arguments of one subcommand: {@code --name value} for the flags that
 * take a value, {@code --name} for switches. An unknown flag, a missing value or a value that does
 * not parse is a {@link CliException} naming it.
 */
public final class Args
{
    private final String command;
    private final Map<String, List<String>> values = new HashMap<>();
    private final List<String> positional = new ArrayList<>();

    private Args(final String command)
    {
        this.command = command;
    }

    /**
     * @param command    the subcommand, for messages
     * @param args       its arguments
     * @param valueFlags flags that take a value (without the dashes)
     * @param switches   flags that take none
     * @return the parsed arguments
     */
    public static Args parse(final String command, final String[] args, final Set<String> valueFlags, final Set<String> switches)
    {
        final Args parsed = new Args(command);
        for (int i = 0; i < args.length; i++)
        {
            final String arg = args[i];
            if (arg.startsWith("--") && arg.length() > 2)
            {
                String name = arg.substring(2);
                String value = null;
                final int eq = name.indexOf('=');
                if (eq > 0)
                {
                    value = name.substring(eq + 1);
                    name = name.substring(0, eq);
                }
                if (switches.contains(name) && value == null)
                {
                    parsed.values.computeIfAbsent(name, k -> new ArrayList<>()).add("true");
                }
                else if (valueFlags.contains(name))
                {
                    if (value == null)
                    {
                        if (i + 1 >= args.length)
                        {
                            throw new CliException("ringraft " + command + ": --" + name + " needs a value");
                        }
                        value = args[++i];
                    }
                    parsed.values.computeIfAbsent(name, k -> new ArrayList<>()).add(value);
                }
                else
                {
                    throw new CliException("ringraft " + command + ": unknown flag --" + name);
                }
            }
            else
            {
                parsed.positional.add(arg);
            }
        }
        return parsed;
    }

    /** @return true if the flag or switch was given */
    public boolean has(final String name)
    {
        return values.containsKey(name);
    }

    /** @return the flag's last value, or {@code defaultValue} */
    public String get(final String name, final String defaultValue)
    {
        final List<String> v = values.get(name);
        return v == null ? defaultValue : v.get(v.size() - 1);
    }

    /** @return every value given for the flag, in order */
    public List<String> all(final String name)
    {
        return values.getOrDefault(name, List.of());
    }

    /** @return the arguments that are not flags, in order */
    public List<String> positional()
    {
        return positional;
    }

    /** The client's id in the nodes' credentials file. */
    public static final String CLIENT_ID = "client-id";
    /** The client's key file. */
    public static final String CLIENT_KEY = "client-key";

    /**
     * @return the client key file of {@code --client-key} (checked: it must load), or null when the
     *         client is unauthenticated; then {@link #clientId()} is its id
     * @throws CliException naming the flag and its value if only one of the two is given, or the file is unusable
     */
    public java.nio.file.Path clientKey()
    {
        final String file = get(CLIENT_KEY, null);
        if (file == null)
        {
            if (has(CLIENT_ID))
            {
                throw new CliException("ringraft " + command + ": --" + CLIENT_ID + " needs --" + CLIENT_KEY + " FILE, the client's key file");
            }
            return null;
        }
        if (!has(CLIENT_ID))
        {
            throw new CliException("ringraft " + command + ": --" + CLIENT_KEY + " needs --" + CLIENT_ID + " N, the client's id");
        }
        final java.nio.file.Path path = java.nio.file.Path.of(file);
        try
        {
            io.ringraft.transport.aeron.ClusterKeys.load(path);
        }
        catch (final IllegalArgumentException ex)
        {
            throw new CliException("ringraft " + command + ": --" + CLIENT_KEY + "=" + file + " is refused: " + ex.getMessage());
        }
        return path;
    }

    /** @return the client's id of {@code --client-id}, 0 if not given */
    public long clientId()
    {
        return longValue(CLIENT_ID, 0, 1, Long.MAX_VALUE);
    }

    /** @return the flag's value as a number (k, m, g suffixes), checked against {@code min..max} */
    public long longValue(final String name, final long defaultValue, final long min, final long max)
    {
        final String v = get(name, null);
        if (v == null)
        {
            return defaultValue;
        }
        final long parsed;
        try
        {
            parsed = Sizes.parse(v);
        }
        catch (final NumberFormatException ex)
        {
            throw new CliException("ringraft " + command + ": --" + name + "=" + v + " is not a number");
        }
        if (parsed < min || parsed > max)
        {
            throw new CliException("ringraft " + command + ": --" + name + "=" + v + " must be in " + min + ".." + max);
        }
        return parsed;
    }

    /** @return the flag's value as a duration in milliseconds (ms, s, m suffixes) */
    public long durationMs(final String name, final long defaultMs)
    {
        final String v = get(name, null);
        if (v == null)
        {
            return defaultMs;
        }
        try
        {
            return Sizes.parseDurationMs(v);
        }
        catch (final NumberFormatException ex)
        {
            throw new CliException("ringraft " + command + ": --" + name + "=" + v + " is not a duration (e.g. 10s, 500ms, 2m)");
        }
    }

    /** Checks that {@code min..max} positional arguments were given, else names {@code usage}. */
    public void requirePositional(final int min, final int max, final String usage)
    {
        if (positional.size() < min || positional.size() > max)
        {
            throw new CliException("ringraft " + command + ": expected " + usage + ", got " +
                (positional.isEmpty() ? "nothing" : String.join(" ", positional)));
        }
    }
}
