"""The wiring: the shared, read-only objects of one process, built once from the settings.

`create_app` (the API), the contact planner (`recsvc score-book`) and the CLI all build them
here, so the API and the nightly plan serve the same catalogue, rules, features and model.
Flask's side holds them in `recsvc.api.extensions` (one key, one accessor)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine

from recsvc.catalog import Catalogue, load_catalogue
from recsvc.config import Settings
from recsvc.customers.bank import BankConfig, load_bank_config
from recsvc.features.customer import CustomerFeaturizer
from recsvc.features.history import HistoryFeaturizer
from recsvc.models.reasons import ReasonExplainer
from recsvc.models.runtime import ModelRuntime
from recsvc.pitch import PitchConfig, load_pitch_config
from recsvc.rules import RulesConfig, load_rules_config
from recsvc.service.config import ServiceConfig, load_service_config
from recsvc.service.contact_triggers import ContactPlanConfig, load_contact_plan_config
from recsvc.store import make_engine


@dataclass(frozen=True)
class Services:
    """What the use cases share: the store, the bank's configuration and the served model."""

    settings: Settings
    engine: Engine
    catalogue: Catalogue
    bank: BankConfig
    rules: RulesConfig
    service_config: ServiceConfig
    pitch_config: PitchConfig
    featurizer: CustomerFeaturizer
    runtime: ModelRuntime
    explainer: ReasonExplainer
    challenger: ModelRuntime  # the experiment's challenger arm (issue 12), loaded like the champion
    contact_plan: ContactPlanConfig  # the weekly plan's triggers (the console's labels, filters)
    order: dict[str, int] = field(init=False)  # product id -> catalogue position

    def __post_init__(self) -> None:
        order = {p.product_id: i for i, p in enumerate(self.catalogue.products)}
        object.__setattr__(self, "order", order)


def build_services(
    settings: Settings, *, on_serving: Callable[[str | None], None] | None = None
) -> Services:
    """Everything from the settings' files; the model itself loads lazily (after any fork)."""
    catalogue = load_catalogue(settings.catalogue_path)
    bank = load_bank_config(settings.bank_config_path)
    history = HistoryFeaturizer.for_catalogue(catalogue.products)
    featurizer = CustomerFeaturizer(product_ids=catalogue.ids, bank=bank, history=history)
    return Services(
        settings=settings,
        engine=make_engine(settings.database_url),
        catalogue=catalogue,
        bank=bank,
        rules=load_rules_config(settings.rules_config_path),
        service_config=load_service_config(settings.service_config_path),
        pitch_config=load_pitch_config(settings.pitch_config_path, product_ids=catalogue.ids),
        featurizer=featurizer,
        runtime=ModelRuntime(settings.registry_dir, featurizer=featurizer, on_serving=on_serving),
        explainer=ReasonExplainer.from_file(settings.reasons_config_path, featurizer.names),
        challenger=ModelRuntime(settings.registry_dir, featurizer=featurizer, alias="challenger"),
        contact_plan=load_contact_plan_config(settings.contact_plan_config_path),
    )


class UsesServices:
    """A use case over the shared services: one place that unpacks them for its methods."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.engine = services.engine
        self.catalogue = services.catalogue
        self.rules = services.rules
        self.bank = services.bank
        self.service_config = services.service_config
        self.featurizer = services.featurizer
        self.runtime = services.runtime
        self.order = services.order
