/* test_profile.c - Docker's default seccomp profile as data (profile.c). */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/capability.h>
#include <string.h>
#include <sys/syscall.h>

#include "unit.h"

static const struct sc_rule *rule_naming(const char *call, enum sc_op op)
{
    char name[64];

    for (size_t i = 0; i < sc_docker_default_len; i++)
        for (const char *at = sc_docker_default[i].names; sc_next_name(&at, name, sizeof(name));)
            if (strcmp(name, call) == 0 && sc_docker_default[i].op == op)
                return &sc_docker_default[i];
    return NULL;
}

static void names_come_one_by_one(void)
{
    const char *at = "  read write  _llseek";
    char name[8];

    CU_ASSERT_TRUE(sc_next_name(&at, name, sizeof(name)) && strcmp(name, "read") == 0);
    CU_ASSERT_TRUE(sc_next_name(&at, name, sizeof(name)) && strcmp(name, "write") == 0);
    CU_ASSERT_TRUE(sc_next_name(&at, name, sizeof(name)) && strcmp(name, "_llseek") == 0);
    CU_ASSERT_FALSE(sc_next_name(&at, name, sizeof(name)));
    at = "far_too_long_a_name";
    CU_ASSERT_FALSE(sc_next_name(&at, name, sizeof(name))); /* never cut short */
}

/* The profile's groups follow the capabilities, both ways. */
static void rules_follow_the_capabilities(void)
{
    const struct sc_rule *mount = rule_naming("mount", SC_ANY);
    const struct sc_rule *clone = rule_naming("clone", SC_MASKED_EQ);
    const struct sc_rule *read = rule_naming("read", SC_ANY);

    CU_ASSERT_FATAL(mount && clone && read);
    CU_ASSERT_FALSE(sc_rule_applies(mount, caps_docker_default()));
    CU_ASSERT_TRUE(sc_rule_applies(mount, 1ULL << CAP_SYS_ADMIN));
    CU_ASSERT_TRUE(sc_rule_applies(clone, caps_docker_default()));
    CU_ASSERT_FALSE(sc_rule_applies(clone, 1ULL << CAP_SYS_ADMIN));
    CU_ASSERT_TRUE(sc_rule_applies(read, 0));
    CU_ASSERT_EQUAL(clone->value, 0x7e020000); /* CLONE_NEWNS and CLONE_NEW* of the top byte */
}

/* Rules of another architecture do not apply here. */
static void rules_of_another_architecture_do_not_apply(void)
{
    const struct sc_rule *s390 = rule_naming("s390_runtime_instr", SC_ANY);
    const struct sc_rule *arch_prctl = rule_naming("arch_prctl", SC_ANY);

    CU_ASSERT_FATAL(s390 && arch_prctl);
    CU_ASSERT_FALSE(sc_rule_applies(s390, caps_all()));
#ifdef __x86_64__
    CU_ASSERT_TRUE(sc_rule_applies(arch_prctl, 0));
#else
    CU_ASSERT_FALSE(sc_rule_applies(arch_prctl, 0));
#endif
}

static void names_become_this_architectures_numbers(void)
{
    CU_ASSERT_EQUAL(sc_resolve("read"), SYS_read);
    CU_ASSERT_EQUAL(sc_resolve("openat"), SYS_openat);
    CU_ASSERT_EQUAL(sc_resolve("mseal"), 462); /* newer than Debian 12's libseccomp */
    CU_ASSERT_EQUAL(sc_resolve("s390_runtime_instr"), -1);
    CU_ASSERT_EQUAL(sc_resolve("no_such_call"), -1);
#ifdef __x86_64__
    CU_ASSERT_EQUAL(sc_resolve("chown32"), -1); /* i386's, not x86-64's */
#endif
}

/* The room the program needs: 7 instructions a name, and the checks. */
static void the_program_fits_its_room_and_the_kernel(void)
{
    unsigned max = sc_max_instructions();

    CU_ASSERT_TRUE(max > 6 + 2 * 300);
    CU_ASSERT_TRUE(max <= 4096); /* BPF_MAXINSNS */
}

static const struct unit_test tests[] = {
    { "names come one by one", names_come_one_by_one },
    { "rules follow the capabilities", rules_follow_the_capabilities },
    { "rules of another architecture do not apply", rules_of_another_architecture_do_not_apply },
    { "names become this architecture's numbers", names_become_this_architectures_numbers },
    { "the program fits its room and the kernel", the_program_fits_its_room_and_the_kernel },
    { NULL, NULL },
};
UNIT_SUITE("profile", tests)
