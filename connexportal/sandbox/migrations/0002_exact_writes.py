from django.db import migrations, models

from connexportal.connex.keys import order_key, sku_key

BATCH = 2000


def fill_keys(apps, schema_editor):
    for model_name, source, target, normalise in (
        ("Order", "order_number", "number_key", order_key),
        ("Product", "sku", "sku_key", sku_key),
    ):
        model = apps.get_model("sandbox", model_name)
        changed = []
        for row in model.objects.only("pk", source).iterator(chunk_size=BATCH):
            setattr(row, target, normalise(getattr(row, source)))
            changed.append(row)
            if len(changed) == BATCH:
                model.objects.bulk_update(changed, [target])
                changed = []
        model.objects.bulk_update(changed, [target])


class Migration(migrations.Migration):
    dependencies = [("sandbox", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="order",
            name="number_key",
            field=models.CharField(default="", editable=False, max_length=100),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="order",
            name="visible_after",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="product",
            name="sku_key",
            field=models.CharField(default="", editable=False, max_length=200),
            preserve_default=False,
        ),
        migrations.RunPython(fill_keys, migrations.RunPython.noop),
        migrations.RemoveConstraint(model_name="order", name="sandbox_order_number"),
        migrations.AddIndex(
            model_name="order",
            index=models.Index(fields=["connection", "number_key"], name="sandbox_order_number_key"),
        ),
        migrations.RemoveConstraint(model_name="product", name="sandbox_product_sku"),
        migrations.AddConstraint(
            model_name="product",
            constraint=models.UniqueConstraint(fields=("connection", "sku_key"), name="sandbox_product_sku_key"),
        ),
    ]
