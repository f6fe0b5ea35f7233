"""cognito-sync (rest-json, Amazon Cognito Sync): datasets of identity-pool identities, synchronized
between devices. Importing the package registers its operations and its identity-merge hook.

Operations: ``datasets.py`` (ListDatasets, DescribeDataset, DeleteDataset, ListRecords, UpdateRecords),
``usage.py`` (DescribeIdentityUsage, DescribeIdentityPoolUsage, ListIdentityPoolUsage), ``devices.py``
(RegisterDevice, SubscribeToDataset, UnsubscribeFromDataset), ``configuration.py``
(Get/SetIdentityPoolConfiguration, Get/SetCognitoEvents), ``bulk_publish.py`` (BulkPublish,
GetBulkPublishDetails). Shared: ``callers.py`` (who calls, the identity rule, the policy engine's
resources), ``records.py`` (rows, shapes, limits), ``session_tokens.py`` (SyncSessionToken),
``sync_trigger.py`` (the SyncTrigger through the triggers' runtime), ``push.py`` (push sync through the
notification outbox), ``merge.py`` (datasets follow merged identities), ``errors.py``.
"""

from __future__ import annotations

from ostiary.cognitosync import bulk_publish, configuration, datasets, devices, merge, usage

merge.register()

__all__ = ["bulk_publish", "configuration", "datasets", "devices", "merge", "usage"]
