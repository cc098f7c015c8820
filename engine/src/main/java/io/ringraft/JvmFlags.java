package io.ringraft;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The JVM flags a library jar needs, which it carries in a resource
 * ({@code META-INF/ringraft/<library>.jvm-flags}, one line of flags, written by the build from
 * the parent pom's {@code ringraft.jvmFlags}), checked when the library starts so that a missing
 * flag fails at once with one line that lists them, not deep inside a dependency.
 * <p>
 * Checked: {@code --add-opens} and {@code --add-exports} (the ones without which a library
 * fails); other flags in the file (system properties, native access) are advice.
 */
public final class JvmFlags
{
    /** The folder of the flag resources inside a jar. */
    public static final String RESOURCE_DIR = "META-INF/ringraft/";

    private JvmFlags()
    {
    }

    /**
     * Checks that this JVM runs with the flags {@code library} needs.
     *
     * @param library the library's name, e.g. {@code storage-chronicle}
     * @throws IllegalStateException with one line listing the missing flags
     */
    public static void require(final String library)
    {
        final List<String> missing = missing(library);
        if (!missing.isEmpty())
        {
            throw new IllegalStateException("ringraft " + library + " needs JVM flags this JVM was started without: " +
                String.join(" ", missing) + " (all its flags: " + RESOURCE_DIR + library + ".jvm-flags in its jar)");
        }
    }

    /**
     * @param library the library's name
     * @return the checkable flags of the library's resource that this JVM lacks (empty when all are
     *         there, or the library carries no resource)
     */
    public static List<String> missing(final String library)
    {
        final List<String> missing = new ArrayList<>();
        for (final String flag : flags(library))
        {
            if (!present(flag))
            {
                missing.add(flag);
            }
        }
        return missing;
    }

    /**
     * @param library the library's name
     * @return the flags in the library's resource, or none
     */
    public static List<String> flags(final String library)
    {
        final List<String> flags = new ArrayList<>();
        try (InputStream in = JvmFlags.class.getClassLoader().getResourceAsStream(RESOURCE_DIR + library + ".jvm-flags"))
        {
            if (in == null)
            {
                return flags;
            }
            for (final String token : new String(in.readAllBytes(), StandardCharsets.UTF_8).trim().split("\\s+"))
            {
                if (!token.isEmpty())
                {
                    flags.add(token);
                }
            }
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
        return flags;
    }

    private static boolean present(final String flag)
    {
        final boolean opens = flag.startsWith("--add-opens=");
        if (!opens && !flag.startsWith("--add-exports="))
        {
            return true;
        }
        // --add-opens=module/package=target
        final String spec = flag.substring(flag.indexOf('=') + 1);
        final int slash = spec.indexOf('/');
        final int eq = spec.indexOf('=');
        if (slash < 0 || eq < slash)
        {
            return true;
        }
        final Optional<Module> module = ModuleLayer.boot().findModule(spec.substring(0, slash));
        if (module.isEmpty())
        {
            return true;
        }
        final String pkg = spec.substring(slash + 1, eq);
        final Module unnamed = JvmFlags.class.getClassLoader().getUnnamedModule();
        return opens ? module.get().isOpen(pkg, unnamed) : module.get().isExported(pkg, unnamed);
    }
}
