"""The signed-in user's roles and permissions as a function, which PostgreSQL plans once per connection.

Every page reads them (billing_site.auth.ModelBackend): as one query of four subqueries, PostgreSQL planned it on every
request, which took twice as long as answering it (0.8 ms a page; 0.35 through the function, whose plans PL/pgSQL keeps
for the connection).
"""

from django.db import migrations

CREATE = """
CREATE FUNCTION user_roles_and_permissions(
    user_pk integer, OUT role_ids integer[], OUT role_names text[], OUT own_perms text[], OUT role_perms text[]
) LANGUAGE plpgsql STABLE AS $$
BEGIN
    SELECT
        ARRAY(SELECT g.id FROM auth_group g JOIN auth_user_groups ug ON ug.group_id = g.id
              WHERE ug.user_id = user_pk ORDER BY g.name, g.id),
        ARRAY(SELECT g.name FROM auth_group g JOIN auth_user_groups ug ON ug.group_id = g.id
              WHERE ug.user_id = user_pk ORDER BY g.name, g.id),
        ARRAY(SELECT ct.app_label || '.' || p.codename FROM auth_permission p
              JOIN django_content_type ct ON ct.id = p.content_type_id
              JOIN auth_user_user_permissions up ON up.permission_id = p.id WHERE up.user_id = user_pk),
        ARRAY(SELECT ct.app_label || '.' || p.codename FROM auth_permission p
              JOIN django_content_type ct ON ct.id = p.content_type_id
              JOIN auth_group_permissions gp ON gp.permission_id = p.id
              JOIN auth_user_groups ug ON ug.group_id = gp.group_id WHERE ug.user_id = user_pk)
    INTO role_ids, role_names, own_perms, role_perms;
END
$$;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunSQL(CREATE, reverse_sql="DROP FUNCTION user_roles_and_permissions(integer);"),
    ]
