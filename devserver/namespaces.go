package main

import (
	"context"
	"errors"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/metrics"
	"go.temporal.io/server/common/persistence"
	"go.temporal.io/server/common/persistence/serialization"
	"go.temporal.io/server/common/persistence/sql"
	"go.temporal.io/server/common/resolver"
	"go.temporal.io/server/common/searchattribute/sadefs"
	sqliteschema "go.temporal.io/server/schema/sqlite"
)

// ensureNamespaces creates every namespace that does not exist yet and makes
// sure each one carries every wanted search attribute. It runs against the
// database before the server starts, so the server loads namespaces that are
// already complete and clients never see a half-registered state, on a fresh
// database and on a restart with an existing --db-filename alike.
func ensureNamespaces(
	ctx context.Context,
	sqlCfg *config.SQL,
	clusterName string,
	namespaces []string,
	attrs []searchAttribute,
	logger log.Logger,
) error {
	serializer := serialization.NewSerializer()
	factory := sql.NewFactory(*sqlCfg, resolver.NewNoopResolver(), clusterName, logger, metrics.NoopMetricsHandler, serializer)
	defer factory.Close()
	store, err := factory.NewMetadataStore()
	if err != nil {
		return fmt.Errorf("open namespace metadata store: %w", err)
	}
	mgr := persistence.NewMetadataManagerImpl(store, serializer, logger, clusterName)
	defer mgr.Close()

	columns := sadefs.GetDBIndexSearchAttributes(nil).GetCustomSearchAttributes()
	for _, name := range namespaces {
		if err := ensureNamespace(ctx, mgr, clusterName, name, columns, attrs); err != nil {
			return fmt.Errorf("namespace %s: %w", name, err)
		}
	}
	return nil
}

// ensureNamespace handles one namespace for ensureNamespaces.
func ensureNamespace(
	ctx context.Context,
	mgr persistence.MetadataManager,
	clusterName, name string,
	columns map[string]enumspb.IndexedValueType,
	attrs []searchAttribute,
) error {
	got, err := mgr.GetNamespace(ctx, &persistence.GetNamespaceRequest{Name: name})
	var notFound *serviceerror.NamespaceNotFound
	switch {
	case errors.As(err, &notFound):
		aliases, _, err := planAliases(nil, columns, attrs)
		if err != nil {
			return err
		}
		nsCfg, err := sqliteschema.NewNamespaceConfig(clusterName, name, false, nil)
		if err != nil {
			return fmt.Errorf("build namespace config: %w", err)
		}
		nsCfg.Detail.Config.CustomSearchAttributeAliases = aliases
		if _, err := mgr.CreateNamespace(ctx, &persistence.CreateNamespaceRequest{
			Namespace:         nsCfg.Detail,
			IsGlobalNamespace: nsCfg.IsGlobal,
		}); err != nil {
			return fmt.Errorf("create: %w", err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("look up: %w", err)
	}

	detail := got.Namespace
	aliases, added, err := planAliases(detail.GetConfig().GetCustomSearchAttributeAliases(), columns, attrs)
	if err != nil {
		return err
	}
	if added == 0 {
		return nil
	}
	meta, err := mgr.GetMetadata(ctx)
	if err != nil {
		return fmt.Errorf("read metadata version: %w", err)
	}
	detail.Config.CustomSearchAttributeAliases = aliases
	detail.ConfigVersion++
	if err := mgr.UpdateNamespace(ctx, &persistence.UpdateNamespaceRequest{
		Namespace:           detail,
		IsGlobalNamespace:   got.IsGlobalNamespace,
		NotificationVersion: meta.NotificationVersion,
	}); err != nil {
		return fmt.Errorf("add search attributes: %w", err)
	}
	return nil
}
